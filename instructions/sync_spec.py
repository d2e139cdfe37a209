"""The ``sync`` settings of a sync step, checked without a database: what is wrong, field by field.

A sync step writes a list of source rows into one table (see ``instructions.sync`` for the
statements and ``connectors.sync`` for running them)::

    {"rows": "{{ steps.read.rows }}",            # a {{ }} expression, or JSONata over the properties
     "table": "customers", "schema": null,       # schema null: the connector's owner / default schema
     "key": ["customer_no"],                     # the columns that identify a row (a unique index)
     "mode": "upsert" | "delete" | "upsert-prune-scope",
     "scope": {"source": "SAP"},                 # delete/prune touch only rows with all these values
     "soft_delete": {"column": "deleted", "value": true},   # mark rows instead of deleting them
     "fields": [{"column": "name", "expression": "NAME1", "default": ""},
                {"column": "source", "constant": "SAP"}],
     "batch_size": 500,                          # rows per transaction
     "prune_when_empty": false}                  # see below

Table and column names must be plain identifiers (``IDENTIFIER``): they are quoted per dialect in
the statements, never spliced as typed, and every value is bound. An empty source list in
``upsert-prune-scope`` mode would delete the whole scope; a failed upstream step that produced no
rows must not wipe a table, so that is refused unless ``prune_when_empty`` is true.

``problems`` answers one message per problem, each naming the setting it concerns; ``parse``
answers the checked ``Spec`` or raises ``SpecInvalid`` with those messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from expressions.mapping import mapping_step_references, mapping_syntax_error
from expressions.sandbox import step_references, syntax_error
from expressions.template import scan

MODES = ("upsert", "delete", "upsert-prune-scope")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
SETTINGS = (
    "rows", "table", "schema", "key", "mode", "scope", "soft_delete", "fields", "batch_size", "prune_when_empty",
)  # fmt: skip
FIELD_SETTINGS = ("column", "expression", "constant", "default")
DEFAULT_BATCH = 500
MAX_BATCH = 10_000
MAX_FIELDS = 500
PREFIX = "Sync step: "
MAX_PARSED = 256
_parsed: dict[str, Spec] = {}  # parse's checked specs by their settings' JSON text


class SpecInvalid(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Assignment:
    """One column's value: a JSONata expression over the source row, or a constant; ``default`` when the
    expression yields nothing."""

    column: str
    expression: str | None = None
    constant: Any = None
    default: Any = None


@dataclass(frozen=True)
class SoftDelete:
    column: str
    value: Any


@dataclass(frozen=True)
class Spec:
    rows: str
    table: str
    schema: str | None
    key: tuple[str, ...]
    mode: str
    scope: tuple[tuple[str, Any], ...]
    soft_delete: SoftDelete | None
    fields: tuple[Assignment, ...]
    batch_size: int
    prune_when_empty: bool

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(field.column for field in self.fields)


def problems(raw: Any) -> list[str]:
    """Every problem of a ``sync`` dict, one message each naming its setting; empty when it can be saved."""
    return _read(raw)[1]


def parse(raw: Any) -> Spec:
    """The checked ``Spec`` of ``raw``. A step runs the same settings for every execution of its version,
    and checking them (their expressions' syntax included) cost more than a one-row sync's writing, so
    the specs of settings that passed are kept, by their JSON text, a bounded number per process."""
    try:
        text = json.dumps(raw, sort_keys=True)
    except (TypeError, ValueError):  # not JSON (a caller's own dict): checked every time
        text = None
    spec = _parsed.get(text) if text is not None else None
    if spec is not None:
        return spec
    spec, found = _read(raw)
    if found:
        raise SpecInvalid(found)
    if text is not None:
        if len(_parsed) >= MAX_PARSED:
            _parsed.clear()
        _parsed[text] = spec
    return spec


def references(raw: Any) -> list[str]:
    """The ``steps.<name>`` the rows expression uses, so the graph can check they are upstream."""
    text = raw.get("rows") if isinstance(raw, dict) else None
    if not isinstance(text, str):
        return []
    expression = single_expression(text)
    if expression is not None:
        return [name for name, _ in step_references(text)]
    return mapping_step_references(text)


def single_expression(text: str) -> str | None:
    """The source of ``text`` when it is one ``{{ }}`` expression and nothing else, else None (JSONata)."""
    parts, scan_problems = scan(text.strip())
    if scan_problems or len(parts) != 1 or not parts[0].is_expression:
        return None
    return parts[0].text


def identifier_problem(value: Any, what: str) -> str | None:
    if not isinstance(value, str) or not value:
        return f"{PREFIX}{what} must be a table or column name (text)"
    if not IDENTIFIER.match(value):
        shown = value if len(value) <= 70 else value[:67] + "..."
        return (
            f"{PREFIX}{what} '{shown}' is not a plain name: use letters, digits, _ and $ only, starting with a "
            "letter or _, at most 63 characters"
        )
    return None


def read_fields(raw: Any) -> tuple[list[Assignment], list[str]]:
    """The field assignments that are well formed, and a message for each one that is not (the preview
    evaluates the good ones even when others are wrong)."""
    if not isinstance(raw, list) or not raw:
        return [], [f"{PREFIX}fields must be a list of column assignments, at least one"]
    if len(raw) > MAX_FIELDS:
        return [], [f"{PREFIX}fields may hold at most {MAX_FIELDS} assignments; it has {len(raw)}"]
    fields: list[Assignment] = []
    found: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        where = f"field {index}"
        if not isinstance(entry, dict):
            found.append(f"{PREFIX}{where} must be an object with a column and an expression or a constant")
            continue
        unknown = [name for name in entry if name not in FIELD_SETTINGS]
        if unknown:
            found.append(f"{PREFIX}{where} has unknown setting '{unknown[0]}' (settings: {', '.join(FIELD_SETTINGS)})")
        problem = identifier_problem(entry.get("column"), f"{where}'s column")
        if problem:
            found.append(problem)
            continue
        column = entry["column"]
        where = f"field '{column}'"
        if column.lower() in seen:
            found.append(f"{PREFIX}column '{column}' is assigned twice")
            continue
        seen.add(column.lower())
        has_expression, has_constant = "expression" in entry, "constant" in entry
        if has_expression == has_constant:
            found.append(f"{PREFIX}{where} needs either an expression or a constant, not both nor neither")
            continue
        if has_expression:
            problem = _expression_problem(entry["expression"], where)
            if problem:
                found.append(problem)
                continue
        elif "default" in entry:
            found.append(f"{PREFIX}{where} has a constant, so its default would never be used; remove it")
            continue
        fields.append(Assignment(column, entry.get("expression"), entry.get("constant"), entry.get("default")))
    return fields, found


def _expression_problem(text: Any, where: str) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return f"{PREFIX}{where}'s expression must be a JSONata expression over the source row (text)"
    error = mapping_syntax_error(text)
    if error:
        line, column, message = error
        return f"{PREFIX}{where}'s expression, line {line}, column {column}: {message}"
    return None


def _rows_problem(text: Any) -> str | None:
    if not isinstance(text, str) or not text.strip():
        return f"{PREFIX}rows must say where the source rows come from, such as {{{{ steps.read.rows }}}}"
    expression = single_expression(text)
    if expression is not None:
        error = syntax_error(expression)
        return f"{PREFIX}rows: {error}" if error else None
    if "{{" in text:
        return (
            f"{PREFIX}rows must be one {{{{ }}}} expression and nothing else, or a JSONata expression without {{{{ }}}}"
        )
    error = mapping_syntax_error(text)
    if error:
        line, column, message = error
        return f"{PREFIX}rows, line {line}, column {column}: {message}"
    return None


def _scalar(value: Any) -> bool:
    return isinstance(value, str | bool | int | float)


def _read(raw: Any) -> tuple[Spec | None, list[str]]:
    if not isinstance(raw, dict):
        return None, [f"{PREFIX}the sync settings must be an object (rows, table, key, mode, fields, ...)"]
    found: list[str] = []
    unknown = [name for name in raw if name not in SETTINGS]
    if unknown:
        found.append(f"{PREFIX}unknown setting '{unknown[0]}' (settings: {', '.join(SETTINGS)})")
    problem = _rows_problem(raw.get("rows"))
    if problem:
        found.append(problem)
    problem = identifier_problem(raw.get("table"), "table")
    if problem:
        found.append(problem)
    schema = raw.get("schema")
    if schema is not None:
        problem = identifier_problem(schema, "schema")
        if problem:
            found.append(problem)
    mode = raw.get("mode", "upsert")
    if mode not in MODES:
        found.append(f"{PREFIX}mode must be one of {', '.join(MODES)}")

    fields, field_problems = read_fields(raw.get("fields"))
    found += field_problems
    assigned = {field.column.lower() for field in fields}
    fields_readable = not field_problems

    key = raw.get("key")
    if not isinstance(key, list) or not key:
        found.append(f"{PREFIX}key must list the column or columns that identify a row, at least one")
        key = []
    else:
        for column in key:
            problem = identifier_problem(column, "key column")
            if problem:
                found.append(problem)
            elif fields_readable and column.lower() not in assigned:
                found.append(f"{PREFIX}key column '{column}' is not assigned a value")
        names = [column.lower() for column in key if isinstance(column, str)]
        if len(set(names)) != len(names):
            found.append(f"{PREFIX}key names a column twice")

    scope = raw.get("scope") or {}
    if not isinstance(scope, dict):
        found.append(f'{PREFIX}scope must be an object of column to value, such as {{"source": "SAP"}}')
        scope = {}
    for column, value in scope.items():
        problem = identifier_problem(column, "scope column")
        if problem:
            found.append(problem)
        elif not _scalar(value):
            found.append(f"{PREFIX}scope column '{column}' must have a text, number or true/false value")
        elif mode == "upsert-prune-scope" and fields_readable and column.lower() not in assigned:
            found.append(
                f"{PREFIX}scope column '{column}' is not assigned a value: the rows written would fall outside "
                "the scope the prune looks at"
            )
    if mode == "upsert" and scope:
        found.append(f"{PREFIX}scope only applies to the modes delete and upsert-prune-scope; remove it")
    if mode == "upsert-prune-scope" and not scope:
        found.append(
            f'{PREFIX}mode upsert-prune-scope needs a scope (such as {{"source": "SAP"}}): the prune deletes '
            "only rows in it that the source no longer has"
        )

    soft_delete = None
    raw_soft = raw.get("soft_delete")
    if raw_soft is not None:
        if not isinstance(raw_soft, dict) or set(raw_soft) != {"column", "value"}:
            found.append(f"{PREFIX}soft_delete must be an object with a column and a value")
        elif mode == "upsert":
            found.append(f"{PREFIX}soft_delete only applies to the modes delete and upsert-prune-scope; remove it")
        else:
            problem = identifier_problem(raw_soft["column"], "soft_delete column")
            if problem:
                found.append(problem)
            elif not _scalar(raw_soft["value"]):
                found.append(f"{PREFIX}soft_delete value must be text, a number or true/false")
            elif raw_soft["column"].lower() in {c.lower() for c in key if isinstance(c, str)}:
                found.append(f"{PREFIX}soft_delete column '{raw_soft['column']}' is a key column")
            else:
                soft_delete = SoftDelete(raw_soft["column"], raw_soft["value"])

    batch_size = raw.get("batch_size", DEFAULT_BATCH)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
        found.append(f"{PREFIX}batch_size must be a whole number from 1 to {MAX_BATCH}")
    prune_when_empty = raw.get("prune_when_empty", False)
    if not isinstance(prune_when_empty, bool):
        found.append(f"{PREFIX}prune_when_empty must be true or false")

    if found:
        return None, found
    spec = Spec(
        rows=raw["rows"],
        table=raw["table"],
        schema=schema,
        key=tuple(key),
        mode=mode,
        scope=tuple(scope.items()),
        soft_delete=soft_delete,
        fields=tuple(fields),
        batch_size=batch_size,
        prune_when_empty=prune_when_empty,
    )
    return spec, []
