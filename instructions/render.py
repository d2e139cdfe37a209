"""Rendering an instruction for its connector: SQL with bind parameters, the languages with a
renderer of their own, text substitution for the rest.

SQL instructions never receive values as text: ``render_sql`` turns each ``{{ }}`` into a bind
parameter in the driver's paramstyle and escapes literal ``%`` for the ``pyformat`` style, so
whatever a payload holds, the statement text is the same.
"""

from __future__ import annotations

import json
from typing import Any

from expressions.sandbox import ExpressionError, evaluate
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


def render_sql(text: str, context: dict, paramstyle: str, dialect: str | None = None) -> Rendered:
    """SQL text with one placeholder per ``{{ }}`` (``p1``, ``p2``, ...) and the params dict.

    Everything outside the braces is copied as written; with ``pyformat`` each literal ``%`` is
    doubled so that ``LIKE 'a%'`` keeps meaning what it says once the driver substitutes. The
    text is cut as the database of ``dialect`` reads it (``instructions.sql``; every
    database's reading when None), with the same refusals as the check before saving.
    """
    lexed = lex(text, dialect)
    if lexed.problems:
        raise ExpressionError(str(lexed.problems[0]))
    escape_percent = paramstyle == "pyformat"
    placeholder(paramstyle, "p")  # rejects an unknown style before anything is evaluated
    out: list[str] = []
    params: dict[str, Any] = {}
    for part in lexed.parts:
        if part.is_expression:
            name = f"p{len(params) + 1}"
            params[name] = bind_value(evaluate(part.text, context))
            out.append(placeholder(paramstyle, name))
        else:
            out.append(part.text.replace("%", "%%") if escape_percent else part.text)
    return Rendered("".join(out), params)


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
