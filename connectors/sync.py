"""Running a sync step: source rows in, rows inserted, updated, deleted or left unchanged in one table.

``run(connector, environment, spec, properties, deadline)`` is what the flow engine calls:

1. check the ``sync`` settings (``instructions.sync_spec``); a problem fails the step with its message;
2. evaluate the source rows and every row's field assignments (``instructions.sync_rows``) before
   anything is written, so a row that fails (a key without a value, a broken expression) fails the
   step with nothing half-written; rows sharing a key collapse into the last of them;
3. borrow one connection of the connector (``connectors.sql_session``) and write the rows in
   batches of ``batch_size``, one transaction per batch, with the statements of
   ``instructions.sync`` (how each database tells inserts from updates is described there); a batch
   that is a single statement (an event's one row, mostly) is sent without BEGIN and COMMIT, being a
   transaction of its own on a connection in autocommit;
4. in ``upsert-prune-scope`` mode, after the last batch, prune once over the WHOLE input, in a
   final transaction of its own: read the keys of the rows in the scope, ask the database which of
   them match an input key (by its own comparison: its types, its collation, so "abc" and "ABC"
   match where the database says they do), and delete (or mark) the rest, always with the scope in
   the statement too. When a batch fails the step fails before the prune, so nothing is pruned on
   the strength of an incomplete input.

The answer is ``{"inserted", "updated", "deleted", "unchanged", "rows"}``; ``rows`` counts the source
rows. In ``delete`` mode, ``unchanged`` counts the keys that matched no row (or a row already marked).

Everything happens inside ``deadline``; errors leave as ``ConnectorError`` (``StepTimeout`` when the
deadline passed), secrets masked.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from functools import partial
from typing import Any

from connectors.catalog import type_class
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.sql_session import Session, session
from expressions.budgets import OutOfTime
from expressions.sandbox import ExpressionError
from instructions import sync as statements
from instructions import sync_rows
from instructions.sync_spec import Spec, SpecInvalid, parse, read_fields

FOUND_ROWS = 2  # PyMySQL's CLIENT.FOUND_ROWS: affected rows then count rows matched, not changed
SHOWN_ERRORS = 3


class Counts(dict):
    def __init__(self, rows: int):
        super().__init__(inserted=0, updated=0, deleted=0, unchanged=0, rows=rows)

    def add(self, **counts: int) -> None:
        for name, value in counts.items():
            self[name] += value


def run(connector, environment, spec: dict | Spec, properties: dict, deadline: Deadline) -> dict:
    """Sync the rows of ``spec`` into its table through ``connector`` in ``environment`` (see the module)."""
    spec = _checked(spec)
    rows = _source_rows(spec, properties, deadline)
    records = _records(spec, rows, deadline)
    counts = Counts(len(rows))
    if not records and not (spec.mode == "upsert-prune-scope" and spec.prune_when_empty):
        if spec.mode == "upsert-prune-scope":
            raise ConnectorError(
                "The sync step got no source rows, and pruning now would delete every row in its scope; "
                "set prune_when_empty to true if an empty source really means an empty table."
            )
        return dict(counts)
    with session(connector, environment, deadline) as db:
        dialect = statements.dialect(db.dialect)
        for start in range(0, len(records), spec.batch_size):
            batch = records[start : start + spec.batch_size]
            if spec.mode == "delete":
                work = dialect.remove(spec, [key for key, _ in batch])
                write = partial(_remove, db, work, counts)
            elif dialect.reports_inserts:
                work = dialect.upsert(spec, [values for _, values in batch])
                write = partial(_upsert_reported, db, work, counts)
            else:
                work = None
                write = partial(_upsert_counted, db, dialect, spec, batch, counts)
            # One statement is a transaction of its own: BEGIN and COMMIT around it would only cost two
            # round trips (an event's sync step is usually one row).
            with nullcontext() if work is not None and len(work) == 1 else db.transaction():
                write()
        if spec.mode == "upsert-prune-scope":
            with db.transaction():
                _prune(db, dialect, spec, [key for key, _ in records], counts)
    return dict(counts)


def _checked(spec: dict | Spec) -> Spec:
    if isinstance(spec, Spec):
        return spec
    try:
        return parse(spec)
    except SpecInvalid as invalid:
        raise ConnectorError("; ".join(invalid.problems)) from None


def _source_rows(spec: Spec, properties: dict, deadline: Deadline) -> list[dict]:
    try:
        return sync_rows.source_rows(spec, properties, deadline.remaining_ms)
    except OutOfTime as exc:
        raise StepTimeout(str(exc)) from None
    except ExpressionError as exc:
        raise ConnectorError(str(exc)) from None


def _records(spec: Spec, rows: list[dict], deadline: Deadline) -> list[tuple[tuple, tuple]]:
    """(key values, column values in ``spec.columns`` order) per distinct key, the last row for a key winning."""
    by_key: dict[str, tuple[tuple, tuple]] = {}
    errors: list[str] = []
    failed = 0
    for index, row in enumerate(rows, start=1):
        try:
            assigned = sync_rows.assign(spec, row, deadline.remaining_ms)
        except OutOfTime as exc:
            raise StepTimeout(str(exc)) from None
        if assigned.errors:
            failed += 1
            errors += [f"row {index}, column '{column}': {text}" for column, text in assigned.errors.items()]
            continue
        key = tuple(assigned.values[column] for column in spec.key)
        by_key[json.dumps(key, sort_keys=True, default=str)] = (key, tuple(assigned.values[c] for c in spec.columns))
    if errors:
        more = f" (and {len(errors) - SHOWN_ERRORS} more)" if len(errors) > SHOWN_ERRORS else ""
        raise ConnectorError(
            f"{failed} of {len(rows)} source rows cannot be written, so none was: "
            + "; ".join(errors[:SHOWN_ERRORS])
            + more
        )
    return list(by_key.values())


def _first(row: tuple) -> Any:
    return row[0] if row else None


def _upsert_reported(db: Session, work: list[statements.Statement], counts: Counts) -> None:
    """Upserts whose returned rows say which were inserted (``Dialect.reports_inserts``)."""
    for statement in work:
        returned = [_first(row) for row in db.tuples(statement.text, statement.params)]
        inserted = sum(1 for flag in returned if flag)
        counts.add(inserted=inserted, updated=len(returned) - inserted, unchanged=statement.rows - len(returned))


def _upsert_counted(db: Session, dialect: statements.Dialect, spec: Spec, batch: list, counts: Counts) -> None:
    """Upserts on a database that reports only affected rows: the keys that exist are counted first."""
    rows = [values for _, values in batch]
    keys = [key for key, _ in batch]
    existing = sum(
        int(_first(db.tuples(statement.text, statement.params)[0]) or 0)
        for statement in dialect.count_existing(spec, keys)
    )
    affected = sum(db.run(statement.text, statement.params)["rowcount"] for statement in dialect.upsert(spec, rows))
    inserted = max(0, len(rows) - existing)
    if dialect.name == "mysql":
        found_rows = bool(getattr(db.client, "client_flag", 0) & FOUND_ROWS)
        updated = affected - inserted - existing if found_rows else (affected - inserted) // 2
    else:
        updated = affected - inserted
    updated = min(max(0, updated), existing)
    counts.add(inserted=inserted, updated=updated, unchanged=existing - updated)


def _remove(db: Session, work: list[statements.Statement], counts: Counts) -> None:
    for statement in work:
        removed = db.run(statement.text, statement.params)["rowcount"]
        counts.add(deleted=removed, unchanged=max(0, statement.rows - removed))


def _prune(db: Session, dialect: statements.Dialect, spec: Spec, keys: list[tuple], counts: Counts) -> None:
    statement = dialect.keys_in_scope(spec)
    candidates = db.tuples(statement.text, statement.params)
    if not candidates:
        return
    kept: set[tuple] = set()
    if keys:
        for statement in dialect.matching_keys(spec, keys):
            kept.update(db.tuples(statement.text, statement.params))
    gone = [candidate for candidate in candidates if candidate not in kept]
    if gone:
        for statement in dialect.remove(spec, gone):
            counts.add(deleted=db.run(statement.text, statement.params)["rowcount"])


def preview(type_key: str | None, raw: Any, sample: list[dict], deadline: Deadline) -> dict:
    """The first rows of ``sample`` as a sync step would write them: ``{"rows": [{"values", "errors"}],
    "problems": [...]}``. Field assignments that are wrong are listed in ``problems`` and left out; the
    others are evaluated, so the editor shows what it can while a setting is still being typed."""
    raw = raw if isinstance(raw, dict) else {}
    fields, problems = read_fields(raw.get("fields"))
    key = [column for column in raw.get("key") or [] if isinstance(column, str)]
    type_cls = type_class(type_key or "")
    dialect = statements.dialect(type_cls.sql_dialect) if type_cls else None
    try:
        rows = sync_rows.preview(fields, key, sample, deadline.remaining_ms)
    except OutOfTime as exc:
        raise StepTimeout(str(exc)) from None
    if dialect is not None:
        for row in rows:
            row["values"] = {column: dialect.value(value) for column, value in row["values"].items()}
    return {"rows": rows, "problems": problems}
