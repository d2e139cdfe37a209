"""Chained values: a later call reading an earlier call's result, ``{{ calls.created.export.SALESDOCUMENT }}``.

The renderer evaluates every other ``{{ }}`` before the connector runs, over the step's properties.
An expression naming ``calls`` cannot be evaluated then, since no call has run yet, so the renderer
leaves it as a *marker* that ``connectors.sap.calls`` evaluates between the calls:

- a whole value: ``{"$calls": "<expression source>"}``;
- a string holding one: ``{"$calls": ["literal text", {"$calls": "<source>"}, ...]}``, joined as text
  once evaluated (the other ``{{ }}`` of the string are already text there).

No SAP name holds a ``$``, so no structure written in an instruction has that key; and a value from
the step's properties (a payload) holding it is refused when rendered, so data cannot pose as a marker.

A chained expression sees only ``calls``: the results of the calls before it, by alias
(``calls.created``) and by position from 0 (``calls[0]``), each ``{"function", "alias", "export",
"changing", "tables", "messages"}``. The step's properties are gone when the calls run, so the
checker refuses ``trigger``, ``steps``, ``env`` or ``execution`` in one, and a call that is not earlier.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, nodes

from expressions.sandbox import ExpressionError, concat, evaluate, syntax_error
from instructions.bapi.lexer import Expr, Problem, Text
from instructions.bapi.parser import Call

MARKER = "$calls"
NAME = "calls"
STEP_PROPERTIES = ("env", "trigger", "steps", "execution")
_SYNTAX = Environment(autoescape=True)  # only parses (no output to escape): evaluation is the sandbox's


@lru_cache(maxsize=1024)
def _tree(source: str) -> nodes.Template | None:
    """The expression's syntax tree, or None when it does not parse (its own error says why)."""
    if syntax_error(source):
        return None
    return _SYNTAX.parse("{{" + source + "}}")


def _names(tree: nodes.Template) -> set[str]:
    """The names an expression reads (an expression assigns none, so every one comes from its context)."""
    return {node.name for node in tree.find_all(nodes.Name) if node.ctx == "load"}


def chained(source: str) -> bool:
    """Whether the expression reads ``calls`` (and so runs between the calls, not when rendered)."""
    tree = _tree(source)
    return tree is not None and NAME in _names(tree)


def is_marker(value: Any) -> bool:
    return isinstance(value, dict) and list(value) == [MARKER]


def marked(value: Expr | Text, evaluate_part) -> Any:
    """The marker of a value holding a chained expression; ``evaluate_part`` renders the other parts."""
    if isinstance(value, Expr):
        return {MARKER: value.source.strip()}
    pieces: list[Any] = []
    for part in value.parts:
        if isinstance(part, Expr) and chained(part.source):
            pieces.append({MARKER: part.source.strip()})
        else:
            pieces.append(evaluate_part(part))
    return {MARKER: pieces}


def holds_chained(value: Any) -> bool:
    if isinstance(value, Expr):
        return chained(value.source)
    return isinstance(value, Text) and any(isinstance(p, Expr) and chained(p.source) for p in value.parts)


def resolve(value: Any, context: dict, where: str, sent: dict[str, Any], plain) -> Any:
    """``value`` with its markers evaluated over ``context`` (``{"calls": ...}``); each evaluated marker's
    value is recorded in ``sent`` under its place (``ORDER_ITEMS_IN[1]-MATERIAL``, rows from 1)."""
    if is_marker(value):
        source = value[MARKER]
        try:
            if isinstance(source, str):
                out = plain(evaluate(source, context))
            else:
                out = "".join(concat(plain(evaluate(p[MARKER], context))) if is_marker(p) else str(p) for p in source)
        except ExpressionError as exc:
            raise ExpressionError(f"{where}: {exc}") from None
        sent[where] = out
        return out
    if isinstance(value, dict):
        return {
            key: resolve(item, context, f"{where}-{key}" if where else key, sent, plain) for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolve(item, context, f"{where}[{index}]", sent, plain) for index, item in enumerate(value, start=1)]
    return value


def problems(calls: list[Call]) -> list[Problem]:
    """Every chained expression that names a call not before it, or a step property (see the docstring)."""
    found: list[Problem] = []
    for index, call in enumerate(calls):
        earlier = {c.alias for c in calls[:index] if c.alias}
        for expr in _expressions(call.params):
            found += _expression_problems(expr, index, earlier, call.function)
    return found


def _expressions(value: Any):
    if isinstance(value, Expr):
        yield value
    elif isinstance(value, Text):
        yield from (part for part in value.parts if isinstance(part, Expr))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _expressions(item)
    elif isinstance(value, list):
        for item in value:
            yield from _expressions(item)


def _expression_problems(expr: Expr, index: int, earlier: set[str], function: str) -> list[Problem]:
    tree = _tree(expr.source)
    if tree is None or NAME not in _names(tree):
        return []
    out = []
    mixed = sorted(set(STEP_PROPERTIES) & _names(tree))
    if mixed:
        out.append(
            Problem(
                expr.offset,
                f"an expression reading calls runs between the calls, where only calls exists; {', '.join(mixed)} "
                "cannot be used in it (give that value to a parameter of its own)",
            )
        )
    names = [n for n in tree.find_all(nodes.Name) if n.name == NAME]
    reads = [
        n
        for n in tree.find_all((nodes.Getattr, nodes.Getitem))
        if isinstance(n.node, nodes.Name) and n.node.name == NAME
    ]
    earlier_text = ", ".join(sorted(earlier)) or "none"
    for read in reads:
        key = _key(read)
        if key is None:
            out.append(Problem(expr.offset, "read an earlier call as calls.<alias> or calls[<position from 0>]"))
        elif isinstance(key, int) and not 0 <= key < index:
            out.append(
                Problem(expr.offset, f"calls[{key}] is not a call before {function} (call {index} counting from 0)")
            )
        elif isinstance(key, str) and key not in earlier:
            out.append(
                Problem(
                    expr.offset,
                    f"calls.{key} is not the alias of a call before {function} (earlier aliases: {earlier_text})",
                )
            )
    if len(reads) < len(names):
        out.append(Problem(expr.offset, "read an earlier call as calls.<alias> or calls[<position from 0>]"))
    return out


def _key(read: nodes.Getattr | nodes.Getitem) -> int | str | None:
    """The alias or position a read of ``calls`` names, or None when it is computed (not checkable)."""
    if isinstance(read, nodes.Getattr):
        return read.attr
    value = read.arg.value if isinstance(read.arg, nodes.Const) else None
    return value if isinstance(value, int | str) and not isinstance(value, bool) else None
