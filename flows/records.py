"""What an execution records, made fit to store, and the fast path that stores its steps.

Whatever a step sends or gets back ends up in PostgreSQL, which refuses NUL characters in text
and jsonb and should not hold an output of any size; so values are made storable and outputs
capped before they are recorded. Recording steps is the engine's most frequent write: ``journal``
keeps it to one plain INSERT per write, however many records it holds, and puts the records a
delivery still holds at its end into the finish's own statement. Which records may wait for a
write, and which are guarded by the lease, is the engine's rule (``flows.engine``, "Step records").
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from core import bound_statements
from core.db_values import Preparer
from core.plain_instances import PlainInstances
from flows.models import Execution, StepRun

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


_records = PlainInstances(StepRun)


def new_record(execution: Execution, values: dict[str, Any]) -> StepRun:
    """A StepRun of ``execution`` with ``values`` (by attribute name; the others their field's
    default), as ``StepRun(execution=execution, **values)`` builds it (``core.plain_instances``)."""
    return _records.new(execution=execution, **values)


class _Journal:
    """Writes StepRuns with plain INSERTs, guarded by the lease: the engine's hot path, kept free of
    ORM bookkeeping.

    ``write`` stores one or several records in one statement (one round trip). A record marked
    guarded is inserted only while the delivery still holds the execution (``EXISTS`` a row of it
    with ``id``, ``lease`` and status running, read in the same statement), so a delivery that lost
    its lease writes none of them and learns it from the row count; the others are inserted in
    any case. ``finish`` stores the records and moves the execution to its final status in ONE
    statement on PostgreSQL: the guarded UPDATE as a CTE, and an INSERT that takes the guarded
    records only when that UPDATE changed the row. Elsewhere (SQLite under ``make run``) the
    INSERTs come first, one per record, then ``Execution.finish``.

    On PostgreSQL the rows travel as ONE parameter, a JSON document (a list of rows of values in
    ``COLUMNS`` order), which the statement reads back with ``jsonb_array_elements`` and casts to
    each column's type (``_from_json``): the statement's text is the same for any number of rows, so
    psycopg parses it once per process; ``json.dumps`` serializes a batch in C, where psycopg's array
    dumpers would take longer in Python than the round trip saved. A value JSON cannot hold (NaN)
    is refused for the whole statement, and the engine then writes the records one at a time to
    name the step. Elsewhere the values are prepared as ``Model.save`` would prepare them
    (``core.db_values``). The rows' ids are not needed, so nothing is read back.

    On PostgreSQL the INSERT commits asynchronously (``set_config('synchronous_commit', 'off',
    true)`` in the same statement) unless ``ERPFLOW_STEP_RECORD_SYNCHRONOUS`` is set: the rows are
    committed and visible at once and survive any worker crash, which is what resuming relies on;
    only a crash of the database server itself within its WAL writer delay could lose the newest
    records (the claim and the final status stay synchronous). This saves a disk flush per write,
    which is most of a step's overhead on ordinary disks. The values travel apart from the
    statement and the statements are prepared once per connection (``core.bound_statements``).
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
    FINISH_COLUMNS = ("status", "output", "error", "finished", "heartbeat")

    def __init__(self):
        self.fields = [StepRun._meta.get_field(name) for name in self.COLUMNS]
        self.attnames = [f.attname for f in self.fields]
        self.moments = [n for n, f in enumerate(self.fields) if f.get_internal_type() == "DateTimeField"]
        self.finish_fields = [Execution._meta.get_field(name) for name in self.FINISH_COLUMNS]
        self.prepare_record, self.prepare_finish = Preparer(self.fields), Preparer(self.finish_fields)
        self.statements: dict[tuple, str] = {}

    def write(self, records: list[StepRun], guarded: list[bool], execution_id: int, lease: str) -> bool:
        """Store ``records`` (of one execution) in one statement; the ones ``guarded`` says only while
        the delivery holding ``lease`` runs the execution. False when it no longer does: the records
        not guarded were stored all the same, the guarded ones not."""
        db = connections[DEFAULT_DB_ALIAS]  # the thread's own, once: each look-up through ``connection`` costs
        lease_holds = [execution_id, lease, Execution.Status.RUNNING]
        if db.vendor != "postgresql":
            held = True
            with db.cursor() as cursor:
                for record, guard in zip(records, guarded, strict=True):
                    if guard and held:
                        cursor.execute(
                            self.statement("insert", "one", True, True, db), [*self.values(record, db), *lease_holds]
                        )
                        held = cursor.rowcount == 1
                    elif not guard:
                        cursor.execute(self.statement("insert", "one", False, True, db), self.values(record, db))
            return held
        synchronous = settings.ERPFLOW_STEP_RECORD_SYNCHRONOUS
        if len(records) == 1:
            guard = guarded[0]
            sql = self.statement("insert", "one", guard, synchronous, db)
            params = [*self.values(records[0], db), *(lease_holds if guard else ())]
        else:
            sql = self.statement("insert", "many", True, synchronous, db)
            params = [self.document(records, guarded), *lease_holds]
        return self.execute(db, sql, params)[0] == len(records)

    def finish(
        self, execution: Execution, status: str, output: Any, error: str, lease: str, records: list, guarded: list
    ) -> bool:
        """Store ``records`` and move ``execution`` to ``status`` under ``lease``, as ``Execution.finish``
        does. False when another writer got there first: then only the records not ``guarded`` were
        stored."""
        db = connections[DEFAULT_DB_ALIAS]
        if db.vendor != "postgresql":
            held = self.write(records, guarded, execution.pk, lease)
            return held and execution.finish(status, output=output, error=error, lease=lease)
        now = timezone.now()
        values = [status, output, error, now, now]
        params = self.prepare_finish(values, db)
        params += [execution.pk, lease, *Execution.UNFINISHED]
        if not records:
            sql = self.statement("finish", "none", False, True, db)
        elif len(records) == 1:
            sql = self.statement("finish", "one", guarded[0], True, db)
            params += self.values(records[0], db)
        else:
            sql = self.statement("finish", "many", True, True, db)
            params.append(self.document(records, guarded))
        if not self.execute(db, sql, params)[0]:
            return False
        execution.finished_as(status, output, error, now)
        return True

    def values(self, record: StepRun, db) -> list:
        return self.prepare_record([getattr(record, name) for name in self.attnames], db)

    def document(self, records: list[StepRun], guarded: list[bool]) -> str:
        """The records as one JSON document, a list of rows of values in ``COLUMNS`` order, each row
        ending with whether it is guarded; PostgreSQL reads the values back as the columns' types."""
        rows = []
        for record, guard in zip(records, guarded, strict=True):
            row = [getattr(record, name) for name in self.attnames]
            for index in self.moments:
                if row[index] is not None:
                    row[index] = row[index].isoformat()
            row.append(guard)
            rows.append(row)
        return json.dumps(rows, ensure_ascii=False)

    @staticmethod
    def execute(db, sql: str, params: list) -> tuple:
        """Run ``sql`` bound on the server (``core.bound_statements``); its one row, or the row count
        when it answers none."""
        with bound_statements.cursor(db) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone() if cursor.description else (cursor.rowcount,)

    def statement(self, purpose: str, rows: str, guarded: bool, synchronous: bool, db) -> str:
        """The ``insert`` or ``finish`` statement for ``rows`` (``none``, ``one`` or ``many``) records."""
        key = (purpose, rows, guarded, synchronous, db.vendor)
        if key not in self.statements:
            self.statements[key] = self.build(purpose, rows, guarded, synchronous, db)
        return self.statements[key]

    def build(self, purpose: str, rows: str, guarded: bool, synchronous: bool, db) -> str:
        """One record's values are parameters of their own (a short statement PostgreSQL plans at once);
        several records are one JSON document (``document``), with a flag per row for its guard. A
        guarded record is selected from the execution's row while the lease holds (``insert``) or from
        the row the finish updated (``finish``)."""
        quote = db.ops.quote_name
        table, executions = quote(StepRun._meta.db_table), quote(Execution._meta.db_table)
        column = {f.name: quote(f.column) for f in Execution._meta.concrete_fields}
        insert = f"INSERT INTO {table} ({', '.join(quote(f.column) for f in self.fields)}) SELECT "  # noqa: S608
        lease_holds = f"{column['id']} = %s AND {column['lease']} = %s AND {column['status']}"
        postgresql = db.vendor == "postgresql"
        conditions = [] if synchronous or not postgresql else [f"{_ASYNCHRONOUS} IS NOT NULL"]
        if rows == "one":
            insert += ", ".join(["%s"] * len(self.fields))
            if guarded and purpose == "insert":
                insert += f" FROM {executions}"
                conditions.insert(0, f"{lease_holds} = %s")
            elif guarded:
                insert += " FROM finished"
        elif rows == "many":
            insert += ", ".join(_from_json(f, n, db) for n, f in enumerate(self.fields))
            insert += " FROM jsonb_array_elements(CAST(%s AS jsonb)) AS step"
            holds = (
                f"EXISTS (SELECT 1 FROM {executions} WHERE {lease_holds} = %s)"  # noqa: S608
                if purpose == "insert"
                else "EXISTS (SELECT 1 FROM finished)"
            )
            conditions.insert(0, f"(NOT CAST(step->>{len(self.fields)} AS boolean) OR {holds})")
        if conditions:
            insert += " WHERE " + " AND ".join(conditions)
        if purpose == "insert":
            return insert
        assignments = ", ".join(f"{column[name]} = %s" for name in self.FINISH_COLUMNS)
        unfinished = ", ".join(["%s"] * len(Execution.UNFINISHED))
        written = f"written AS ({insert}) " if rows != "none" else ""
        return (
            f"WITH finished AS (UPDATE {executions} SET {assignments} "  # noqa: S608
            f"WHERE {lease_holds} IN ({unfinished}) RETURNING {column['id']}), "
            f"{written}SELECT count(*) FROM finished"
        ).replace("), SELECT", ") SELECT")


def _from_json(field, index: int, db) -> str:
    """The value at ``index`` of a row of the JSON document, as the column's type: jsonb as it is (JSON
    null is NULL, as Django stores None), text as text (a value too long for a varchar is refused on
    assignment, not cut by a cast), anything else cast from its text."""
    kind = field.db_type(db)
    if kind == "jsonb":
        return f"NULLIF(step->{index}, 'null'::jsonb)"
    if kind == "text" or kind.startswith("varchar"):
        return f"step->>{index}"
    return f"CAST(step->>{index} AS {kind})"


_ASYNCHRONOUS = "set_config('synchronous_commit', 'off', true)"


journal = _Journal()
