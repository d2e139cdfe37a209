"""SAP BAPI instructions: ``CALL FUNCTION <NAME>: [ (PARAM: value), (TABLE: [ (FIELD: value), ... ]) ]``.

The grammar (keywords and names are case-insensitive; names are kept in upper case, as SAP needs):

    instruction := call+                       one or more calls, run in order on one connection
    call        := CALL FUNCTION name ':' '[' [ object { ',' object } [','] ] ']' ['.']
    object      := '(' [ pair { ',' pair } [','] ] ')'
    pair        := name ':' [ value ]           a missing value is the initial (empty) value
    value       := string | number | true | false | null | {{ expression }} | object | list
    list        := '[' [ value { ',' value } [','] ] ']'

Each object of a call's list holds one parameter or several; a structure parameter's value is an
object, a table's is a list of objects (its rows). Strings are quoted with ``"`` or ``'`` and take
backslash escapes; numbers without a fraction are integers, others exact decimals. ``#`` starts a
comment up to the end of the line, and so does ``*`` as the first thing on a line (as in ABAP).

A ``{{ }}`` stands for a whole value and is evaluated to a typed value when the step runs (a list
from the payload becomes a table), never spliced into the text. ``parse`` raises ``BapiSyntaxError``
with the line and column of what was expected; ``format_calls`` writes calls back in a canonical
layout that parses to the same calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from expressions.sandbox import ExpressionError, evaluate, syntax_error
from expressions.template import expression_end, position
from instructions import InstructionProblem, Rendered, register, renderer

NAME = re.compile(r"[A-Za-z_/][A-Za-z0-9_/]*")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'"}
_WORDS = {"true": True, "false": False, "null": None}


class BapiSyntaxError(Exception):
    """An instruction that does not parse; ``line`` and ``column`` are 1-based."""

    def __init__(self, line: int, column: int, message: str):
        super().__init__(f"line {line}, col {column}: {message}")
        self.line, self.column, self.message = line, column, message


@dataclass(frozen=True)
class Expr:
    """A ``{{ }}`` value: its source (without the braces) and where it starts in the instruction."""

    source: str
    offset: int = 0

    def __eq__(self, other: object) -> bool:  # where it stood does not change what it means
        return isinstance(other, Expr) and other.source.strip() == self.source.strip()

    def __hash__(self) -> int:
        return hash(self.source.strip())


@dataclass(frozen=True)
class Call:
    """One function module call: its name and its parameters in the order written."""

    function: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Token:
    kind: str  # "name", "string", "number", "expr", "punct", "end"
    value: Any
    start: int
    text: str = ""


def tokenize(text: str) -> list[Token]:
    """The tokens of an instruction, comments and whitespace dropped."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    line_start = True  # only whitespace since the last newline: a ``*`` here opens a comment
    while i < n:
        char = text[i]
        if char == "\n":
            line_start = True
            i += 1
            continue
        if char.isspace():
            i += 1
            continue
        if char == "#" or (char == "*" and line_start):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        line_start = False
        if text.startswith("{{", i):
            end = expression_end(text, i)
            if end is None:
                raise _error(text, i, "this {{ is never closed with }}")
            tokens.append(Token("expr", Expr(text[i + 2 : end - 2], i), i, text[i:end]))
            i = end
            continue
        if char in "[](),:.":
            tokens.append(Token("punct", char, i, char))
            i += 1
            continue
        if char in "\"'":
            value, end = _string(text, i)
            tokens.append(Token("string", value, i, text[i:end]))
            i = end
            continue
        match = NUMBER.match(text, i)
        if match and (char != "-" or match.end() > i + 1):
            raw = match.group(0)
            value = int(raw) if re.fullmatch(r"-?\d+", raw) else Decimal(raw)
            tokens.append(Token("number", value, i, raw))
            i = match.end()
            continue
        match = NAME.match(text, i)
        if match:
            tokens.append(Token("name", match.group(0), i, match.group(0)))
            i = match.end()
            continue
        raise _error(text, i, f"unexpected character {char!r}")
    tokens.append(Token("end", None, n, "end of instruction"))
    return tokens


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == quote:
            return "".join(out), i + 1
        if char == "\n":
            break
        if char == "\\":
            nxt = text[i + 1 : i + 2]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
            raise _error(text, i, "unknown escape; use \\n, \\t, \\r, \\0, \\\\, \\\", \\' or \\uXXXX")
        out.append(char)
        i += 1
    raise _error(text, start, f"this string opened with {quote} is never closed on its line")


def _error(text: str, index: int, message: str) -> BapiSyntaxError:
    where = position(text, index)
    return BapiSyntaxError(where.line, where.column, message)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def fail(self, expected: str) -> BapiSyntaxError:
        found = self.token.text if self.token.kind != "end" else "the end of the instruction"
        return _error(self.text, self.token.start, f"expected {expected}, found {found!r}"[:200])

    def punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.value == char:
            self.i += 1
            return True
        return False

    def expect(self, char: str, expected: str) -> None:
        if not self.punct(char):
            raise self.fail(expected)

    def keyword(self, word: str) -> bool:
        if self.token.kind == "name" and self.token.value.upper() == word:
            self.i += 1
            return True
        return False

    def name(self, expected: str) -> str:
        if self.token.kind != "name":
            raise self.fail(expected)
        value = self.token.value.upper()
        self.i += 1
        return value

    def instruction(self) -> list[Call]:
        calls = [self.call()]
        while self.token.kind != "end":
            if not (self.token.kind == "name" and self.token.value.upper() == "CALL"):
                raise self.fail("CALL FUNCTION or the end of the instruction")
            calls.append(self.call())
        return calls

    def call(self) -> Call:
        if not self.keyword("CALL"):
            raise self.fail("CALL FUNCTION")
        if not self.keyword("FUNCTION"):
            raise self.fail("FUNCTION after CALL")
        function = self.name("a function module name after CALL FUNCTION")
        self.expect(":", "':' after function name")
        self.expect("[", "'[' opening the parameter list")
        params: dict[str, Any] = {}
        while not self.punct("]"):
            if self.token.kind != "punct" or self.token.value != "(":
                raise self.fail("'(' opening a parameter, or ']' closing the parameter list")
            self.object(into=params, what="parameter")
            if not self.punct(","):
                self.expect("]", "',' or ']' after a parameter")
                break
        self.punct(".")
        return Call(function, params)

    def object(self, *, into: dict[str, Any] | None = None, what: str = "field") -> dict[str, Any]:
        self.expect("(", "'('")
        out = {} if into is None else into
        while not self.punct(")"):
            start = self.token.start
            key = self.name(f"a {what} name")
            if key in out:
                raise _error(self.text, start, f"the {what} {key} is given twice")
            self.expect(":", f"':' after the {what} name {key}")
            out[key] = self.value(empty_ok=True)
            if not self.punct(","):
                self.expect(")", f"',' or ')' after the value of {key}")
                break
        return out

    def value(self, *, empty_ok: bool = False) -> Any:
        token = self.token
        if token.kind in ("string", "number", "expr"):
            self.i += 1
            return token.value
        if token.kind == "name" and token.value.lower() in _WORDS:
            self.i += 1
            return _WORDS[token.value.lower()]
        if token.kind == "punct" and token.value == "(":
            return self.object()
        if token.kind == "punct" and token.value == "[":
            self.i += 1
            items: list[Any] = []
            while not self.punct("]"):
                items.append(self.value())
                if not self.punct(","):
                    self.expect("]", "',' or ']' after a table row")
                    break
            return items
        if empty_ok and token.kind == "punct" and token.value in ",)":
            return None
        if token.kind == "name":
            raise self.fail('a value (a quoted string such as "' + token.value + '", a number, true, false, {{ }})')
        raise self.fail("a value")


def parse(text: str) -> list[Call]:
    """The calls of an instruction; ``BapiSyntaxError`` saying where and what was expected."""
    if text is None or not str(text).strip():
        raise BapiSyntaxError(1, 1, "the instruction is empty; start it with CALL FUNCTION <NAME>: [ ... ]")
    try:
        return _Parser(str(text)).instruction()
    except RecursionError:  # the parser recurses once per list or structure inside another
        raise BapiSyntaxError(1, 1, "the instruction is nested too deeply (lists in lists)") from None


# -- formatting -----------------------------------------------------------------------------------


def format_calls(calls: list[Call]) -> str:
    """Canonical text of ``calls``: one parameter per line, rows of a table one per line."""
    return "\n".join(_format_call(call) for call in calls)


def _format_call(call: Call) -> str:
    if not call.params:
        return f"CALL FUNCTION {call.function}: []"
    lines = [f"  ({name}: {format_value(value, 1)})" for name, value in call.params.items()]
    return f"CALL FUNCTION {call.function}: [\n" + ",\n".join(lines) + "\n]"


def format_value(value: Any, depth: int = 0) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        value = Decimal(repr(value))
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if re.fullmatch(r"-?\d+", text) is None else text + ".0"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Expr):
        return "{{ " + value.source.strip() + " }}"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}: {format_value(v, depth + 1)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        pad = "  " * (depth + 1)
        rows = ",\n".join(pad + format_value(item, depth + 1) for item in value)
        return "[\n" + rows + "\n" + "  " * depth + "]"
    raise TypeError(f"a {type(value).__name__} cannot be written in a BAPI instruction")


def _quote(text: str) -> str:
    out = ['"']
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif char == "\0":
            out.append("\\0")
        elif ord(char) < 32 or char in "\u2028\u2029\x85":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


# -- the checker and the renderer -----------------------------------------------------------------


def expressions(value: Any) -> list[Expr]:
    """Every ``{{ }}`` inside a value, depth first."""
    if isinstance(value, Expr):
        return [value]
    if isinstance(value, dict):
        return [e for item in value.values() for e in expressions(item)]
    if isinstance(value, list):
        return [e for item in value for e in expressions(item)]
    return []


@register("bapi")
def check(text: str) -> list[InstructionProblem]:

    try:
        calls = parse(text)
    except BapiSyntaxError as exc:
        return [InstructionProblem(exc.line, exc.column, exc.message)]
    problems = []
    for call in calls:
        for expr in expressions(call.params):
            error = syntax_error(expr.source)
            if error:
                where = position(text, expr.offset)
                problems.append(InstructionProblem(where.line, where.column, error))
    return problems


def evaluated(value: Any, context: dict) -> Any:
    """A value with its ``{{ }}`` replaced by what they evaluate to (typed: lists stay tables)."""

    if isinstance(value, Expr):
        return _plain(evaluate(value.source, context))
    if isinstance(value, dict):
        return {key: evaluated(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [evaluated(item, context) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, as SAP's packed numbers need; both transports accept text
    return value


def _plain(value: Any) -> Any:
    """An expression's value as JSON data (tuples become lists, keys text)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


@renderer("bapi")
def render(text: str, context: dict) -> Rendered:
    """The instruction as written, and ``{"calls": [{"function", "parameters"}]}`` with typed values."""

    try:
        calls = parse(text)
    except BapiSyntaxError as exc:
        raise ExpressionError(str(exc)) from None
    rendered = [{"function": call.function, "parameters": evaluated(call.params, context)} for call in calls]
    return Rendered(text, {"calls": rendered})
