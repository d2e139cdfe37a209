"""A sync step's rows: the source list from the step's properties, then each row's column values.

The source list is the value of the ``rows`` setting: one ``{{ }}`` expression (Jinja sandbox) or
JSONata, both over the step's properties; an object counts as a list of one (an event's payload).
Each field assignment is JSONata over one source row (``$`` is the row), a constant, or its
``default`` when the expression yields nothing. Everything runs inside the step's deadline: the
callers pass ``remaining_ms`` (what is left of it), and an evaluation that outlasts it raises
``expressions.mapping.MappingTimeout``.

Most assignments are plain field paths (``NAME1``, ``address.city``); those are read straight from
the row, with JSONata's meaning (a missing field yields nothing), because evaluating thousands of
rows times dozens of columns through the JSONata interpreter would take most of a step's time.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from expressions import budgets
from expressions.mapping import MappingTimeout, evaluate_mapping
from expressions.sandbox import ExpressionError, evaluate
from instructions.sync_spec import Assignment, Spec, single_expression

PREVIEW_ROWS = 5
PLAIN_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
JSONATA_WORDS = {"true", "false", "null", "and", "or", "in", "function"}
_NOT_PLAIN = object()


class RowsError(ExpressionError):
    """The source rows are not a list of objects; the message says what they are."""


@dataclass
class Assigned:
    """One source row's column values (``values``), and a message per column that failed (``errors``)."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def source_rows(spec: Spec, properties: dict, remaining_ms: Callable[[], int]) -> list[dict]:
    """The list the ``rows`` setting evaluates to over the step's properties."""
    text = spec.rows
    expression = single_expression(text)
    if expression is not None:
        with budgets.time_budget(_left(remaining_ms)):
            value = evaluate(expression, properties)
    else:
        value = evaluate_mapping(text, properties, _left(remaining_ms))
    if value is None:
        return []
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list | tuple):
        raise RowsError(f"The sync step's rows must be a list of objects; they are {_kind(value)}.")
    for index, row in enumerate(value, start=1):
        if not isinstance(row, dict):
            raise RowsError(f"The sync step's rows must be a list of objects; row {index} is {_kind(row)}.")
    return list(value)


def assign(spec: Spec, row: dict, remaining_ms: Callable[[], int]) -> Assigned:
    """The column values of one source row; a key column without a value is an error of that column."""
    out = assign_fields(spec.fields, row, remaining_ms)
    for column in spec.key:
        if column in out.values and out.values[column] is None:
            del out.values[column]
            out.errors[column] = "the key column has no value (the expression yields nothing and there is no default)"
    return out


def assign_fields(fields: tuple[Assignment, ...] | list[Assignment], row: dict, remaining_ms) -> Assigned:
    out = Assigned()
    for assignment in fields:
        if assignment.expression is None:
            out.values[assignment.column] = assignment.constant
            continue
        try:
            value = _value(assignment.expression, row, remaining_ms)
        except MappingTimeout:
            raise
        except ExpressionError as exc:
            out.errors[assignment.column] = str(exc)
            continue
        out.values[assignment.column] = assignment.default if value is None else value
    return out


def preview(spec_fields: list[Assignment], key: list[str], rows: list[dict], remaining_ms) -> list[dict]:
    """The first ``PREVIEW_ROWS`` rows as they would be written: ``{"values": ..., "errors": ...}`` each."""
    out = []
    for row in rows[:PREVIEW_ROWS]:
        assigned = assign_fields(spec_fields, row, remaining_ms)
        for column in key:
            if assigned.values.get(column, "") is None:
                del assigned.values[column]
                assigned.errors[column] = "the key column has no value"
        out.append({"values": assigned.values, "errors": assigned.errors})
    return out


def _value(expression: str, row: dict, remaining_ms: Callable[[], int]) -> Any:
    plain = _plain(expression, row)
    if plain is not _NOT_PLAIN:
        return plain
    return evaluate_mapping(expression, row, _left(remaining_ms))


def _plain(expression: str, row: dict) -> Any:
    """The value of a plain field path as JSONata gives it, or ``_NOT_PLAIN`` when JSONata must decide
    (arrays along the path map over their items; keywords are not fields)."""
    text = expression.strip()
    if not PLAIN_PATH.match(text):
        return _NOT_PLAIN
    value: Any = row
    for name in text.split("."):
        if name in JSONATA_WORDS:
            return _NOT_PLAIN
        if not isinstance(value, dict):
            return _NOT_PLAIN
        value = value.get(name)
        if value is None:
            return None
    if isinstance(value, list):
        return _NOT_PLAIN
    return value


def _left(remaining_ms: Callable[[], int]) -> int:
    left = remaining_ms()
    if left <= 0:
        raise MappingTimeout("The sync step's timeout ran out while its rows were being evaluated.")
    return left


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__
