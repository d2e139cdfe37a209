"""SAP BAPI instructions: ``CALL FUNCTION <NAME> [AS alias]: [ (PARAM: value), (TABLE: [ (FIELD: value) ]) ]``.

The grammar (keywords and names are case-insensitive; names are kept in upper case, as SAP needs):

    instruction := call+                       one or more calls, run in order on one connection
    call        := CALL FUNCTION name [AS alias] ':' '[' [ object { ',' object } [','] ] ']' { section } ['.']
    section     := (IMPORTING | CHANGING | TABLES | RETURNING) '[' name { ',' name } [','] ']'  the outputs wanted
    object      := '(' [ pair { ',' pair } [','] ] ')'
    pair        := name ':' [ value ]           a missing value is the initial (empty) value
    value       := word | string | true | false | null | {{ expression }} | object | list
    list        := '[' [ value { ',' value } [','] ] ']'

Each object of a call's list holds one parameter or several; a structure parameter's value is an
object, a table's is a list of objects (its rows). Values are text as written, because SAP's own
types (NUMC, packed decimals, dates) keep leading zeros and trailing decimals that a number would
lose; the transport converts text to a number where it knows the parameter's type.

- A bare word is text: letters, digits, ``_ / - .`` (a dot only between other characters), so
  ``T001``, ``0001000001``, ``12.50``, ``-3`` and ``2024-01-31`` need no quotes. A bare ``true``,
  ``false`` or ``null`` (any case) is the keyword; ``"true"`` is the text.
- ``"..."`` takes backslash escapes (``\\n \\t \\r \\0 \\\\ \\" \\' \\{ \\uXXXX``; any other is an error);
  ``'...'`` is raw, as in ABAP: backslashes stay, ``''`` is one quote.
- ``{{ }}`` as a whole value is evaluated when the step runs and keeps its type (a number stays a
  number, a list from the payload is a table); inside a string it is interpolated as text
  (``"\\{{"`` writes braces literally).
- ``AS alias`` names a call's result; an alias is unique and not ``calls`` or ``messages``.
- A ``{{ }}`` reading ``calls`` (``calls.created.export.SALESDOCUMENT``, ``calls[0]``) takes an earlier
  call's result: it is rendered as a marker and evaluated between the calls (``instructions.bapi.chain``).
- ``#`` starts a comment up to the end of the line, and so does ``*`` first on a line (as in ABAP).

``parse`` raises ``BapiSyntaxError`` at the first problem; ``check`` lists every problem the parser
recovers from, each at its line and column; ``format_calls`` writes calls back canonically.
"""

from __future__ import annotations

from typing import Any

from expressions.sandbox import ExpressionError, concat, evaluate, syntax_error
from expressions.template import position
from instructions import InstructionProblem, Rendered, register, renderer
from instructions.bapi import chain
from instructions.bapi.lexer import Expr, Problem, Text
from instructions.bapi.parser import BapiSyntaxError, Call, Parser, parse, syntax
from instructions.bapi.writer import format_calls, format_value

__all__ = [
    "BapiSyntaxError",
    "Call",
    "Expr",
    "Parser",
    "Text",
    "check",
    "format_calls",
    "format_value",
    "parse",
    "plain",
]


@register("bapi")
def check(text: str) -> list[InstructionProblem]:
    """Every syntax problem the parser recovers from and every bad ``{{ }}``, in order, advice said once."""
    calls, problems = syntax(text)
    if text and str(text).strip():
        problems += _expression_problems(str(text)) + chain.problems(calls)
    said: set[str] = set()
    out = []
    for problem in sorted(problems, key=lambda p: p.index):
        where = position(str(text or ""), problem.index)
        message = problem.message
        if problem.advice and problem.advice not in said:
            said.add(problem.advice)
            message += "; " + problem.advice
        out.append(InstructionProblem(where.line, where.column, message))
    return out


def _expression_problems(text: str) -> list[Problem]:
    """The ``{{ }}`` that do not parse, also inside strings and in calls with syntax errors."""
    found = []
    for token in Parser(text).tokens:
        parts = token.value.parts if isinstance(token.value, Text) else (token.value,)
        for part in parts:
            error = syntax_error(part.source) if isinstance(part, Expr) else None
            if error:
                found.append(Problem(part.offset, error))
    return found


def evaluated(value: Any, context: dict) -> Any:
    """A value with its ``{{ }}`` replaced by what they evaluate to: typed as a whole value, text in a
    string; one reading ``calls`` becomes a marker evaluated between the calls (``chain``)."""
    if chain.holds_chained(value):
        return chain.marked(value, lambda part: evaluated(Text((part,)), context))
    if isinstance(value, Expr):
        return plain(evaluate(value.source, context))
    if isinstance(value, Text):
        return "".join(concat(plain(evaluate(p.source, context))) if isinstance(p, Expr) else p for p in value.parts)
    if isinstance(value, dict):
        return {key: evaluated(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluated(item, context) for item in value]
    return value


def plain(value: Any) -> Any:
    """An expression's value as JSON data (tuples become lists, keys text, exact decimals text)."""
    if isinstance(value, dict):
        if chain.MARKER in value:
            raise ExpressionError(
                f"a value holds the key {chain.MARKER!r}, which marks a chained expression; SAP names cannot hold '$'"
            )
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "as_tuple"):  # a Decimal: exact text, as SAP's packed numbers need
        return format(value, "f")
    return value


@renderer("bapi")
def render(text: str, context: dict) -> Rendered:
    """The instruction as written, and ``{"calls": [{"function", "parameters", "alias", "select"}]}`` with
    values; ``select`` is ``{"importing": [names], "tables": [...], ...}`` as written, and only there when the
    call selects its outputs (so a call without sections renders, and is recorded, as before)."""
    try:
        calls = parse(text)
    except BapiSyntaxError as exc:
        raise ExpressionError(str(exc)) from None
    rendered = [
        {
            "function": call.function,
            "parameters": evaluated(call.params, context),
            "alias": call.alias,
            **({"select": {section: list(names) for section, names in call.select.items()}} if call.select else {}),
        }
        for call in calls
    ]
    return Rendered(text, {"calls": rendered})
