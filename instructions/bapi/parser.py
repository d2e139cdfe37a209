"""Parsing BAPI instructions into calls, recovering from errors so the checker can list them all.

After a mistake inside a call the parser skips to where it can start again: the next ``(`` of a
parameter in the same call's list, the ``]`` closing that list, or the next ``CALL FUNCTION``. It
tracks the brackets it has opened, so an unclosed one is reported at the bracket that opened it,
saying where the input ended, rather than as "expected ',' found the end".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from expressions.template import position
from instructions.bapi.lexer import NAME, Problem, Token, tokenize

ALIAS = re.compile(r"[A-Za-z][A-Za-z0-9_]*")  # usable as ``steps.x.<alias>`` in a later expression
RESERVED_ALIASES = ("calls", "messages")  # keys the calls runner puts next to the aliases
KEYWORDS = {"true": True, "false": False, "null": None}
EMPTY = "the instruction is empty; start it with CALL FUNCTION <NAME>: [ ... ]"
TOO_DEEP = "the instruction is nested too deeply (lists in lists)"
# After a call's parameter list, ABAP's words select the outputs wanted: ``IMPORTING [NUMBER_OF_ROWS]
# TABLES [DATA]`` (``RETURNING`` lists outputs of any kind); the others are not fetched or are dropped.
SECTIONS = ("IMPORTING", "CHANGING", "TABLES", "RETURNING")


class BapiSyntaxError(Exception):
    """An instruction that does not parse; ``line`` and ``column`` are 1-based."""

    def __init__(self, line: int, column: int, message: str):
        super().__init__(f"line {line}, col {column}: {message}")
        self.line, self.column, self.message = line, column, message


@dataclass(frozen=True)
class Call:
    """One function module call: its name, its parameters in the order written, and its alias."""

    function: str
    params: dict[str, Any]
    alias: str | None = None
    select: dict[str, tuple[str, ...]] | None = None  # section (lower case) -> output names; None: all


class _Fail(Exception):
    """The current call cannot go on; the problem is already recorded."""


class Parser:
    def __init__(self, text: str):
        self.text = text
        lexed = tokenize(text)
        self.tokens, self.problems, self.swallowed = lexed.tokens, lexed.problems, lexed.swallowed
        self.i = 0
        self.stack: list[Token] = []  # the brackets opened and not yet closed
        self.aliases: dict[str, int] = {}

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def at(self, char: str) -> bool:
        return self.token.kind == "punct" and self.token.value == char

    def at_call(self) -> bool:
        word = self.token.kind == "word" and self.token.value.upper() == "CALL"
        nxt = self.tokens[self.i + 1] if word else None
        return word and nxt.kind == "word" and nxt.value.upper() == "FUNCTION"

    def fail(self, expected: str) -> _Fail:
        if self.stack and (self.token.kind == "end" or self.at_call()):
            self.unclosed()
        else:
            found = self.token.text if self.token.kind != "end" else "the end of the instruction"
            self.problems.append(Problem(self.token.start, f"expected {expected}, found {found!r}"[:200]))
        return _Fail()

    def unclosed(self) -> None:
        """Report the open brackets at the end of the input or of a call (unless a string took their closers)."""
        if not self.swallowed:
            if self.token.kind == "end":
                last = self.tokens[self.i - 1]
                where = position(self.text, last.start + len(last.text))
                ends = f"the instruction ends at line {where.line}, column {where.column}"
            else:
                where = position(self.text, self.token.start)
                ends = f"the next CALL FUNCTION starts at line {where.line}, column {where.column}"
            for bracket in self.stack:
                self.problems.append(
                    Problem(bracket.start, f"the {bracket.value!r} opened here is never closed; {ends}")
                )
        self.stack.clear()

    def punct(self, char: str) -> bool:
        if self.at(char):
            self.i += 1
            return True
        return False

    def open(self, char: str, expected: str) -> None:
        if not self.at(char):
            raise self.fail(expected)
        self.stack.append(self.token)
        self.i += 1

    def close(self, char: str) -> bool:
        if self.punct(char):
            self.stack.pop()
            return True
        return False

    def expect(self, char: str, expected: str) -> None:
        if not self.punct(char):
            raise self.fail(expected)

    def name(self, expected: str) -> str:
        if self.token.kind != "word" or not NAME.fullmatch(self.token.value):
            raise self.fail(expected)
        self.i += 1
        return self.tokens[self.i - 1].value.upper()

    # -- the grammar ------------------------------------------------------------------------------

    def instruction(self) -> list[Call]:
        calls: list[Call] = []
        while self.token.kind != "end":
            if not self.at_call():
                self.fail("CALL FUNCTION or the end of the instruction" if calls else "CALL FUNCTION")
                self.skip_to_call()
                continue
            call = self.call()
            if call is not None:
                calls.append(call)
        return calls

    def skip_to_call(self) -> None:
        self.stack.clear()
        self.i += 1
        while self.token.kind != "end" and not self.at_call():
            self.i += 1

    def call(self) -> Call | None:
        self.i += 2  # CALL FUNCTION
        try:
            function = self.name("a function module name after CALL FUNCTION")
            alias = self.alias() if self.token.kind == "word" and self.token.value.upper() == "AS" else None
            self.expect(":", "':' (or AS and an alias) after the function name")
            self.open("[", "'[' opening the parameter list")
        except _Fail:
            self.skip_to_call()
            return None
        params: dict[str, Any] = {}
        while not self.close("]"):
            if self.token.kind == "end" or self.at_call():
                self.unclosed()
                break
            try:
                if not self.at("("):
                    raise self.fail("'(' opening a parameter, or ']' closing the parameter list")
                self.object(params, "parameter")
                if not self.punct(",") and not self.at("]"):
                    raise self.fail("',' or ']' after a parameter")
            except _Fail:
                if not self.recover():
                    break
        select = self.sections() if not self.stack else None
        self.punct(".")
        return Call(function, params, alias, select)

    def at_section(self) -> bool:
        return self.token.kind == "word" and self.token.value.upper() in SECTIONS

    def sections(self) -> dict[str, tuple[str, ...]] | None:
        """``IMPORTING [A, B] TABLES [C]``: the outputs selected after a call's list, by section."""
        select: dict[str, tuple[str, ...]] = {}
        seen: set[str] = set()
        while self.at_section():
            word = self.token
            self.i += 1
            section = word.value.lower()
            if section in select:
                self.problems.append(Problem(word.start, f"{word.value.upper()} is given twice in this call"))
            names: list[str] = []
            try:
                self.open("[", f"'[' with the parameters after {word.value.upper()}")
                while not self.close("]"):
                    start = self.token.start
                    name = self.name(f"a parameter name after {word.value.upper()}")
                    if name in seen:
                        self.problems.append(Problem(start, f"the parameter {name} is selected twice"))
                    seen.add(name)
                    names.append(name)
                    if not self.punct(",") and not self.at("]"):
                        raise self.fail("',' or ']' after a selected parameter")
            except _Fail:
                self.stack.clear()
                while self.token.kind != "end" and not self.at_call() and not self.at_section():
                    self.i += 1
                continue
            if not names:
                self.problems.append(Problem(word.start, f"{word.value.upper()} [] selects nothing; name an output"))
            select[section] = tuple(names)
        return select or None

    def recover(self) -> bool:
        """Skip to the next parameter of this call (True), or past its end (False)."""
        while True:
            if len(self.stack) == 1 and self.at("("):
                return True
            token = self.token
            if token.kind == "end" or self.at_call():
                self.unclosed()
                return False
            self.i += 1
            if token.kind == "punct" and token.value in "([":
                self.stack.append(token)
            elif token.kind == "punct" and token.value in ")]":
                opener = "(" if token.value == ")" else "["
                matching = [k for k, bracket in enumerate(self.stack) if bracket.value == opener]
                if matching:
                    del self.stack[matching[-1] :]
                if not self.stack:
                    return False

    def alias(self) -> str:
        self.i += 1  # AS
        token = self.token
        if token.kind != "word" or not ALIAS.fullmatch(token.value):
            raise self.fail("an alias after AS (a letter, then letters, digits or _)")
        self.i += 1
        alias = token.value
        if alias.lower() in RESERVED_ALIASES:
            self.problems.append(
                Problem(token.start, f"the alias {alias} is reserved for the step's result; choose another")
            )
        elif alias in self.aliases:
            line = position(self.text, self.aliases[alias]).line
            self.problems.append(Problem(token.start, f"the alias {alias} is already used by the call on line {line}"))
        else:
            self.aliases[alias] = token.start
        return alias

    def object(self, into: dict[str, Any] | None = None, what: str = "field") -> dict[str, Any]:
        self.open("(", "'('")
        out: dict[str, Any] = {} if into is None else into
        while not self.close(")"):
            start = self.token.start
            key = self.name(f"a {what} name")
            if key in out:
                self.problems.append(Problem(start, f"the {what} {key} is given twice"))
            self.expect(":", f"':' after the {what} name {key}")
            out[key] = self.value(empty_ok=True)
            if not self.punct(",") and not self.at(")"):
                raise self.fail(f"',' or ')' after the value of {key}")
        return out

    def value(self, *, empty_ok: bool = False) -> Any:
        token = self.token
        if token.kind == "word":
            self.i += 1
            return KEYWORDS.get(token.value.lower(), token.value)
        if token.kind in ("string", "expr", "bad"):
            self.i += 1
            return token.value
        if self.at("("):
            return self.object()
        if self.at("["):
            self.open("[", "'['")
            items: list[Any] = []
            while not self.close("]"):
                items.append(self.value())
                if not self.punct(",") and not self.at("]"):
                    raise self.fail("',' or ']' after a table row")
            return items
        if empty_ok and (self.at(",") or self.at(")")):
            return None
        raise self.fail("a value")


def syntax(text: str) -> tuple[list[Call], list[Problem]]:
    """The calls that parsed and every problem found, ordered by where they are."""
    if text is None or not str(text).strip():
        return [], [Problem(0, EMPTY)]
    parser = Parser(str(text))
    try:
        calls = parser.instruction()
    except RecursionError:  # the parser recurses once per list or structure inside another
        return [], [Problem(0, TOO_DEEP)]
    return calls, sorted(parser.problems, key=lambda problem: problem.index)


def parse(text: str) -> list[Call]:
    """The calls of an instruction; ``BapiSyntaxError`` at the first problem, saying where and what."""
    calls, problems = syntax(text)
    if problems:
        first = problems[0]
        where = position(str(text or ""), first.index)
        message = f"{first.message}; {first.advice}" if first.advice else first.message
        raise BapiSyntaxError(where.line, where.column, message)
    return calls
