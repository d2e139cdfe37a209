"""Writing calls back as BAPI text, in a canonical layout that parses to the same calls.

Text is written bare when it reads back as the same text (a word of letters, digits, _ / - and
., not a keyword), quoted otherwise; a literal ``{{`` in a string is written ``\\{{`` so it is not
taken for an expression.
"""

from __future__ import annotations

from typing import Any

from instructions.bapi.lexer import WORD, Expr, Text
from instructions.bapi.parser import KEYWORDS, Call

_KEYWORD_TEXT = {True: "true", False: "false", None: "null"}
_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def format_calls(calls: list[Call]) -> str:
    """Canonical text of ``calls``: one parameter per line, rows of a table one per line."""
    return "\n".join(_format_call(call) for call in calls)


def _format_call(call: Call) -> str:
    head = f"CALL FUNCTION {call.function}" + (f" AS {call.alias}" if call.alias else "")
    sections = "".join(f" {section.upper()} [{', '.join(names)}]" for section, names in (call.select or {}).items())
    if not call.params:
        return f"{head}: []{sections}"
    lines = [f"  ({name}: {format_value(value, 1)})" for name, value in call.params.items()]
    return f"{head}: [\n" + ",\n".join(lines) + "\n]" + sections


def format_value(value: Any, depth: int = 0) -> str:
    if value is None or isinstance(value, bool):
        return _KEYWORD_TEXT[value]
    if isinstance(value, str):
        return value if WORD.fullmatch(value) and value.lower() not in KEYWORDS else _quote((value,))
    if isinstance(value, Text):
        return _quote(value.parts)
    if isinstance(value, Expr):
        return _expression(value)
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}: {format_value(v, depth + 1)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        pad = "  " * (depth + 1)
        rows = ",\n".join(pad + format_value(item, depth + 1) for item in value)
        return "[\n" + rows + "\n" + "  " * depth + "]"
    raise TypeError(f"a {type(value).__name__} cannot be written in a BAPI instruction; write it as text")


def _expression(expr: Expr) -> str:
    return "{{ " + expr.source.strip() + " }}"


def _quote(parts: tuple[str | Expr, ...]) -> str:
    """A double-quoted string of literal pieces and expressions."""
    out = ['"']
    for index, part in enumerate(parts):
        if isinstance(part, Expr):
            out.append(_expression(part))
            continue
        expression_next = index + 1 < len(parts) and isinstance(parts[index + 1], Expr)
        for at, char in enumerate(part):
            brace_next = part[at + 1 : at + 2] == "{" or (at == len(part) - 1 and expression_next)
            if char == "{" and brace_next:
                out.append("\\{")
            elif char in _SHORT_ESCAPES:
                out.append(_SHORT_ESCAPES[char])
            elif ord(char) < 32 or char in "\u2028\u2029\x85":
                out.append(f"\\u{ord(char):04x}")
            else:
                out.append(char)
    out.append('"')
    return "".join(out)
