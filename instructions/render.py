"""Rendering an instruction for its connector: SQL with bind parameters, the languages with a
renderer of their own, text substitution for the rest.

SQL instructions never receive values as text: ``render_sql`` turns each ``{{ }}`` into a bind
parameter in the driver's paramstyle and escapes literal ``%`` for the ``pyformat`` style, so
whatever a payload holds, the statement text is the same. ``render_rows`` does it once per element
of a list (a SQL step's ``for_each_row``): one statement text, one set of parameters per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from expressions.sandbox import ExpressionError, evaluate, syntax_error
from expressions.template import scan
from expressions.values import interpolate
from instructions import Rendered, renderer_for
from instructions.sql import lex


def placeholder(paramstyle: str, name: str) -> str:
    if paramstyle == "pyformat":
        return f"%({name})s"
    if paramstyle == "named":
        return f":{name}"
    raise ValueError(f"paramstyle {paramstyle!r} is not supported; use 'pyformat' or 'named'")


def bind_value(value: Any) -> Any:
    """A value as the driver receives it: objects become JSON text; lists stay lists (for IN / ANY)."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _sql_template(text: str, paramstyle: str, dialect: str | None) -> tuple[str, list[tuple[str, str]]]:
    """The statement with one placeholder per ``{{ }}`` (``p1``, ``p2``, ...) and (name, expression) pairs."""
    lexed = lex(text, dialect)
    if lexed.problems:
        raise ExpressionError(str(lexed.problems[0]))
    escape_percent = paramstyle == "pyformat"
    placeholder(paramstyle, "p")  # rejects an unknown style before anything is evaluated
    out: list[str] = []
    expressions: list[tuple[str, str]] = []
    for part in lexed.parts:
        if part.is_expression:
            name = f"p{len(expressions) + 1}"
            expressions.append((name, part.text))
            out.append(placeholder(paramstyle, name))
        else:
            out.append(part.text.replace("%", "%%") if escape_percent else part.text)
    return "".join(out), expressions


def render_sql(text: str, context: dict, paramstyle: str, dialect: str | None = None) -> Rendered:
    """SQL text with one placeholder per ``{{ }}`` (``p1``, ``p2``, ...) and the params dict.

    Everything outside the braces is copied as written; with ``pyformat`` each literal ``%`` is
    doubled so that ``LIKE 'a%'`` keeps meaning what it says once the driver substitutes. The
    text is cut as the database of ``dialect`` reads it (``instructions.sql``; every
    database's reading when None), with the same refusals as the check before saving.
    """
    statement, expressions = _sql_template(text, paramstyle, dialect)
    return Rendered(statement, {name: bind_value(evaluate(source, context)) for name, source in expressions})


ROWS_SHOWN = 3  # rows of a bulk step's parameters kept in its record


@dataclass
class RenderedRows:
    """A SQL statement to run once per row: its text, and one dict of bound values per row."""

    text: str
    rows: list[dict]

    def recorded(self) -> dict:
        """What a step's record shows of the parameters: how many rows, and the first few."""
        return {"row_count": len(self.rows), "first_rows": self.rows[:ROWS_SHOWN]}


def _rows_source(rows_expression: str) -> tuple[str | None, str | None]:
    """(the expression inside the braces, None) or (None, what is wrong with ``rows_expression``)."""
    parts, problems = scan(rows_expression.strip())
    if problems:
        return None, problems[0].message
    if len(parts) != 1 or not parts[0].is_expression:
        return None, "must be one {{ }} expression giving a list, such as {{ steps.orders.rows }}, and nothing else"
    return parts[0].text, syntax_error(parts[0].text)


def rows_expression_problem(rows_expression: str) -> str | None:
    """What is wrong with a ``for_each_row`` option, or None (checked with the other step options)."""
    return _rows_source(rows_expression)[1]


def render_rows(
    text: str, rows_expression: str, context: dict, paramstyle: str, dialect: str | None = None
) -> RenderedRows:
    """The statement ``text`` rendered once per element of the list ``rows_expression`` gives, each with
    the properties ``row`` (the element) and ``row_index`` (from 0) beside ``context``'s; the values are
    bound, never spliced. The statement is cut once; an expression failing names its row."""
    source, problem = _rows_source(rows_expression)
    if problem:
        raise ExpressionError(f"for_each_row {problem}")
    try:
        items = evaluate(source, context)
    except ExpressionError as exc:
        raise ExpressionError(f"for_each_row {exc}") from None
    if not isinstance(items, list | tuple):
        raise ExpressionError(
            f"for_each_row {{{{{source.strip()}}}}} gave {type(items).__name__}, not a list to run the statement for"
        )
    statement, expressions = _sql_template(text, paramstyle, dialect)
    rows = []
    for index, item in enumerate(items):
        scope = {**context, "row": item, "row_index": index}
        try:
            rows.append({name: bind_value(evaluate(expression, scope)) for name, expression in expressions})
        except ExpressionError as exc:
            raise ExpressionError(f"row {index}: {exc}") from None
    return RenderedRows(statement, rows)


def render_instruction(
    language: str, paramstyle: str | None, text: str, context: dict, dialect: str | None = None
) -> Rendered:
    """Render for a connector: bound parameters for SQL (cut as the type's ``sql_dialect`` reads it),
    the language's own renderer where it has one (typed BAPI values, URL-encoded HTTP paths), text
    substitution otherwise."""
    if language == "sql":
        return render_sql(text, context, paramstyle or "pyformat", dialect)
    render = renderer_for(language)
    if render is not None:
        return render(text, context)
    return Rendered(interpolate(text, context), {})
