"""Cutting a BAPI instruction into tokens, with every problem found on the way (not only the first).

Values are kept as written: a bare word (``T001``, ``0001000001``, ``12.50``, ``2024-01-31``) is
text, because a number read here would lose leading zeros and trailing decimals that SAP keeps;
only the transport, knowing a parameter's type, may convert. Double-quoted strings take backslash
escapes; single-quoted strings are raw, as in ABAP (``''`` is one quote), so Windows paths and
regular expressions survive. A ``{{ }}`` inside either kind of string is interpolated as text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from expressions.template import expression_end

NAME = re.compile(r"[A-Za-z_/][A-Za-z0-9_/]*")
# A bare value: letters, digits, _ / - and dots between them (a dot at its end closes the call).
WORD = re.compile(r"[A-Za-z0-9_/\-]+(?:\.[A-Za-z0-9_/\-]+)*")
ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", '"': '"', "'": "'", "{": "{"}
ESCAPE_ADVICE = (
    "double-quoted strings know \\n \\t \\r \\0 \\\\ \\\" \\' \\{ and \\uXXXX; "
    "write text with backslashes in single quotes, where they stay as written"
)
BARE_ADVICE = "a value holding characters other than letters, digits, _ / - and . is written in quotes"


@dataclass(frozen=True)
class Problem:
    """A syntax problem at a character offset; ``advice`` is said once per instruction, not per problem."""

    index: int
    message: str
    advice: str = ""


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
class Text:
    """A string holding ``{{ }}``: its literal pieces and expressions in order, joined as text when run."""

    parts: tuple[str | Expr, ...]


@dataclass(frozen=True)
class Token:
    kind: str  # "word", "string", "expr", "punct", "bad" (already reported), "end"
    value: Any
    start: int
    text: str = ""


@dataclass
class Lexed:
    tokens: list[Token]
    problems: list[Problem]
    swallowed: bool  # an unclosed string or {{ took the rest of a line: brackets cannot be counted


def tokenize(text: str) -> Lexed:
    """The tokens of an instruction, comments and whitespace dropped, and the problems met."""
    lexed = Lexed([], [], False)
    i, n = 0, len(text)
    line_start = True  # only whitespace since the last newline: a ``*`` here opens a comment
    while i < n:
        char = text[i]
        if char.isspace():
            line_start = line_start or char == "\n"
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
                lexed.problems.append(Problem(i, "this {{ is never closed with }}"))
                lexed.tokens.append(Token("bad", None, i, text[i:]))
                lexed.swallowed = True
                break
            lexed.tokens.append(Token("expr", Expr(text[i + 2 : end - 2], i), i, text[i:end]))
            i = end
        elif char in "[](),:.":
            lexed.tokens.append(Token("punct", char, i, char))
            i += 1
        elif char in "\"'":
            i = _string(text, i, lexed)
        elif match := WORD.match(text, i):
            lexed.tokens.append(Token("word", match.group(0), i, match.group(0)))
            i = match.end()
        else:
            lexed.problems.append(Problem(i, f"unexpected character {char!r}", BARE_ADVICE))
            i += 1
    lexed.tokens.append(Token("end", None, n, "end of instruction"))
    return lexed


def _string(text: str, start: int, lexed: Lexed) -> int:
    """Read the string at ``start`` into a token; the offset after it."""
    quote = text[start]
    parts: list[str | Expr] = []
    chunk: list[str] = []
    i = start + 1
    while i < len(text) and text[i] != "\n":
        char = text[i]
        if char == quote and quote == "'" and text.startswith("''", i):
            chunk.append("'")
            i += 2
        elif char == quote:
            parts.append("".join(chunk))
            value = _joined(parts)
            lexed.tokens.append(Token("string", value, start, text[start : i + 1]))
            return i + 1
        elif text.startswith("{{", i):
            end = expression_end(text, i)
            if end is None:
                break
            parts += ["".join(chunk), Expr(text[i + 2 : end - 2], i)]
            chunk = []
            i = end
        elif char == "\\" and quote == '"':
            i = _escape(text, i, chunk, lexed)
        else:
            chunk.append(char)
            i += 1
    lexed.problems.append(Problem(start, f"this string opened with {quote} is never closed on its line"))
    lexed.tokens.append(Token("bad", None, start, text[start:i]))
    lexed.swallowed = True
    return i


def _escape(text: str, i: int, chunk: list[str], lexed: Lexed) -> int:
    nxt = text[i + 1 : i + 2]
    if nxt in ("", "\n"):  # a backslash ending the line: the string is not closed, said once
        chunk.append("\\")
        return i + 1
    if nxt in ESCAPES:
        chunk.append(ESCAPES[nxt])
        return i + 2
    if nxt == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", text[i + 2 : i + 6]):
        chunk.append(chr(int(text[i + 2 : i + 6], 16)))
        return i + 6
    lexed.problems.append(Problem(i, f"unknown escape \\{nxt}", ESCAPE_ADVICE))
    chunk.append(text[i : i + 2])
    return i + 2


def _joined(parts: list[str | Expr]) -> str | Text:
    kept = tuple(part for part in parts if part != "")
    if not any(isinstance(part, Expr) for part in kept):
        return "".join(kept)  # type: ignore[arg-type]
    return Text(kept)
