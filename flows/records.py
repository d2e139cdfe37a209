"""What an execution records, made fit to store, and the fast path that stores its steps.

Whatever a step sends or gets back ends up in PostgreSQL, which refuses NUL characters in text
and jsonb and should not hold an output of any size; so values are made storable and outputs
capped before they are recorded. Each finished step is recorded at once, which makes recording a
step the engine's most frequent write: ``journal`` keeps it to one plain INSERT.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections

from flows.models import StepRun

NUL, NUL_SHOWN = "\x00", "\u2400"


def storable(value: Any) -> Any:
    """``value`` with NUL characters shown as ␀: PostgreSQL stores none in text or jsonb, yet a
    payload or a MariaDB result can hold them."""
    if isinstance(value, str):
        return value.replace(NUL, NUL_SHOWN) if NUL in value else value
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def cap_output(value: Any) -> tuple[Any, bool]:
    """The value to store, and whether it was cut: above the size limit only a marked preview is kept."""
    if value is None or isinstance(value, bool | int | float):
        return value, False
    limit = settings.ERPFLOW_STEP_OUTPUT_MAX_BYTES
    text = json.dumps(value, ensure_ascii=False, default=str)
    if "\\u0000" in text:
        value, text = storable(value), text.replace("\\u0000", NUL_SHOWN)
    size = len(text.encode())
    if size <= limit:
        return value, False
    preview = text.encode()[: limit // 2].decode(errors="ignore")
    return {"truncated": True, "size_bytes": size, "limit_bytes": limit, "preview": preview}, True


class _Journal:
    """Appends StepRuns with one plain INSERT: the engine's hot path, kept free of ORM bookkeeping.

    The values go through each field's own ``get_db_prep_save``, exactly as ``Model.save`` would
    prepare them; the row's id is not needed, so nothing is read back.

    On PostgreSQL the INSERT commits asynchronously (``set_config('synchronous_commit', 'off',
    true)`` in the same statement) unless ``ERPFLOW_STEP_RECORD_SYNCHRONOUS`` is set: the row is
    committed and visible at once and survives any worker crash, which is what resuming relies on;
    only a crash of the database server itself within its WAL writer delay could lose the newest
    records (the claim and the final status stay synchronous). This saves a disk flush per step,
    which is most of a step's overhead on ordinary disks. The values travel apart from the
    statement (server-side binding), whatever the connection's ``server_side_binding``: quoting
    nineteen values into the text in Python costs more than psycopg's own dumpers. The statement
    is not prepared, so a pooler in transaction mode (PgBouncer) in front of PostgreSQL stays fine.
    """

    COLUMNS = (
        "execution",
        "position",
        "scope",
        "item",
        "step_id",
        "name",
        "kind",
        "delivery",
        "attempt",
        "wait_ms",
        "status",
        "instruction",
        "params",
        "output",
        "output_truncated",
        "error",
        "started",
        "finished",
        "duration_ms",
    )

    def __init__(self):
        self.fields = [StepRun._meta.get_field(name) for name in self.COLUMNS]
        self.statements: dict[bool, str] = {}

    def statement(self, synchronous: bool) -> str:
        if synchronous not in self.statements:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(f.column) for f in self.fields)
            marks = ", ".join(["%s"] * len(self.fields))
            sql = f"INSERT INTO {quote(StepRun._meta.db_table)} ({columns}) VALUES ({marks})"  # noqa: S608
            if not synchronous and connection.vendor == "postgresql":
                # A one-row SELECT instead of VALUES, so the setting lives in the INSERT's own transaction.
                sql = sql.replace(f"VALUES ({marks})", f"SELECT {marks} WHERE {_ASYNCHRONOUS} IS NOT NULL")
            self.statements[synchronous] = sql
        return self.statements[synchronous]

    def append(self, record: StepRun) -> None:
        db = connections[DEFAULT_DB_ALIAS]  # the thread's own, once: each look-up through ``connection`` costs
        params = [f.get_db_prep_save(getattr(record, f.attname), db) for f in self.fields]
        sql = self.statement(settings.ERPFLOW_STEP_RECORD_SYNCHRONOUS)
        with db.cursor() as cursor:
            if db.vendor != "postgresql":
                cursor.execute(sql, params)
                return
            with psycopg.Cursor(cursor.cursor.connection) as bound:
                # Django's wrapper around it, for the query log and the translation of errors.
                type(cursor)(bound, cursor.db).execute(sql, params)


_ASYNCHRONOUS = "set_config('synchronous_commit', 'off', true)"


journal = _Journal()
