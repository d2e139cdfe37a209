"""Inserting a batch of new executions in one statement, the batch sent as one JSON document.

On PostgreSQL, Django's ``bulk_create`` sends each column as an array (``INSERT ... SELECT * FROM
UNNEST(...)``), and psycopg quotes the ``jsonb[]`` array of the executions' inputs in Python, value by
value and character by character: for a batch of 100 events that was a third of what accepting it
cost the web process. Here the rows travel as one JSON array (encoded by the C encoder) and
PostgreSQL reads them back into columns (``jsonb_to_recordset``), in order.

The rows come as plain dicts, not model instances: building a hundred ``Execution`` objects and
reading their fields back cost the web process more than the INSERT. Every concrete field is
written, with what Django would have written (a field a row leaves out gets its default, and
``created`` the time of its insert, later for each row than for the one before it), so a field added
to ``Execution`` later needs nothing here.
Other databases take Django's ``bulk_create``.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from flows.models import Execution

# (attname, column, field) of every column written: all but the primary key.
_FIELDS = [(f.attname, f.column, f) for f in Execution._meta.concrete_fields if not f.primary_key]
# The fields Django sets to the time of the insert (``auto_now_add``, ``auto_now``).
_MOMENTS = {f.attname for _, _, f in _FIELDS if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)}
_TICK = timedelta(microseconds=1)


def create(rows: list[dict[str, Any]]) -> list[int]:
    """Insert one execution per row (field attnames to values, such as ``flow_id``), in order; answers
    their ids. A field a row leaves out gets what Django would have given it: its default, or the
    time of the insert for ``auto_now_add``."""
    if connection.vendor != "postgresql" or len(rows) < 2:
        return [execution.pk for execution in Execution.objects.bulk_create([Execution(**row) for row in rows])]
    # One default per field serves every row (they are serialized at once, never changed), except the
    # creation time: each row's is later than the one before, so lists ordered by it keep the batch's order.
    defaults = {name: field.get_default() for name, _, field in _FIELDS if name not in _MOMENTS}
    filled = []
    moment = None
    for row in rows:
        now = timezone.now()
        moment = now if moment is None else max(now, moment + _TICK)
        full = {column: row.get(name, moment if name in _MOMENTS else defaults[name]) for name, column, _ in _FIELDS}
        filled.append(full)
    with connection.cursor() as cursor:
        cursor.execute(_statement(), [json.dumps(filled, default=_moment)])
        return [row[0] for row in cursor.fetchall()]


@functools.cache
def _statement() -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for _, column, _ in _FIELDS)
    # A column's type without its length (varchar, not varchar(200)): a value too long fails in the INSERT.
    types = ", ".join(f"{quote(column)} {field.db_type(connection).split('(')[0]}" for _, column, field in _FIELDS)
    table, pk = quote(Execution._meta.db_table), quote(Execution._meta.pk.column)
    return (
        f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608 - the model's names only
        f"FROM ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({types})) WITH ORDINALITY AS batch({columns}, n) "
        f"ORDER BY n RETURNING {pk}"
    )


def _moment(value: Any) -> str:
    """A date and time with its microseconds and offset, as PostgreSQL reads it back exactly."""
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a column value")
