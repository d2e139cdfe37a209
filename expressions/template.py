"""Finding the ``{{ expr }}`` parts of an instruction, for every language.

The scanner knows just enough of Jinja's expression syntax to find where an expression ends: it
skips string literals and counts brackets, so ``{{ concat("}}", x) }}`` and a dict literal like
``{{ {"a": {"b": 1}} }}`` are one expression each. Evaluating the expressions is the job of
``expressions.sandbox``; this module only locates them, with positions for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass

OPEN, CLOSE = "{{", "}}"
BLOCKS_UNSUPPORTED = "only {{ expression }} is supported here, not {% %} or {# #} blocks"
_PAIRS = {"(": ")", "[": "]", "{": "}"}


@dataclass(frozen=True)
class Position:
    line: int
    column: int


def position(text: str, index: int) -> Position:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return Position(line, column)


def expression_end(text: str, start: int) -> int | None:
    """Offset just past the ``}}`` closing the expression opened at ``start``; None when never closed."""
    i = start + len(OPEN)
    depth: list[str] = []
    n = len(text)
    while i < n:
        char = text[i]
        if char in "'\"":
            i = _skip_string(text, i)
            if i < 0:
                return None
            continue
        if char in _PAIRS:
            depth.append(_PAIRS[char])
        elif depth and char == depth[-1]:
            depth.pop()
        elif not depth and text.startswith(CLOSE, i):
            return i + len(CLOSE)
        i += 1
    return None


def _skip_string(text: str, start: int) -> int:
    """Offset past a Jinja string literal starting at ``start``, or -1 when it is not closed."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == quote:
            return i + 1
        i += 1
    return -1


@dataclass(frozen=True)
class Part:
    """A piece of an instruction: literal text, or the source of one ``{{ }}`` expression."""

    text: str
    start: int
    is_expression: bool


@dataclass(frozen=True)
class ScanProblem:
    start: int
    message: str


def scan(text: str) -> tuple[list[Part], list[ScanProblem]]:
    """Split a whole instruction into literal and expression parts (no knowledge of its language)."""
    parts: list[Part] = []
    problems: list[ScanProblem] = []
    literal_start = 0
    i = 0
    n = len(text)
    while i < n:
        if text.startswith(OPEN, i):
            end = expression_end(text, i)
            if end is None:
                problems.append(ScanProblem(i, "this {{ is never closed with }}"))
                break
            if i > literal_start:
                parts.append(Part(text[literal_start:i], literal_start, False))
            parts.append(Part(text[i + 2 : end - 2], i, True))
            i = literal_start = end
            continue
        if text.startswith(CLOSE, i):
            problems.append(ScanProblem(i, "this }} has no opening {{"))
            i += 2
            continue
        if text.startswith("{%", i) or text.startswith("{#", i):
            problems.append(ScanProblem(i, BLOCKS_UNSUPPORTED))
        i += 1
    if literal_start < n:
        parts.append(Part(text[literal_start:], literal_start, False))
    return parts, problems
