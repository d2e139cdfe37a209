"""SQL instructions: a small lexer that knows where quotes, comments and ``{{ }}`` are.

It is not a SQL parser (every database has its own grammar, and the database itself reports
syntax errors at run time). It finds what would make an instruction unsafe or misleading before
it is saved: an empty text, an unbalanced ``{{ }}``, a quote, quoted identifier, block comment or
dollar-quoted string that is never closed, and a ``{{ }}`` inside a quoted string or a comment,
where it would not become a bind parameter. ``flows.expressions.render_sql`` uses the same
segments to turn each expression into a placeholder and copy everything else verbatim.

String rules follow standard SQL, which PostgreSQL, MariaDB, Oracle and SQLite all accept: a quote
inside a string is doubled (``'it''s'``); backslash escapes are honoured in PostgreSQL ``E'...'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flows.instructions import InstructionProblem, register
from flows.instructions.generic import empty_problem, expression_problems, problem_at
from flows.instructions.template import BLOCKS_UNSUPPORTED, OPEN, Part, expression_end

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")
_QUOTES = {"'": "string", '"': "quoted identifier", "`": "quoted identifier"}


@dataclass(frozen=True)
class Lexed:
    """An instruction cut into literal SQL and expressions, plus what is wrong with it."""

    parts: list[Part]
    problems: list[InstructionProblem]


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def lex(text: str) -> Lexed:
    problems: list[InstructionProblem] = []
    parts: list[Part] = []
    literal_start = 0
    i = 0
    n = len(text)

    def flag_expressions(start: int, end: int, where: str) -> None:
        found = text.find(OPEN, start, end)
        if found >= 0:
            problems.append(
                problem_at(
                    text,
                    found,
                    f"a {{{{ }}}} inside a {where} is not bound as a parameter; "
                    f"write it outside the {where} (values are quoted by the database driver)",
                )
            )

    while i < n:
        char = text[i]
        if text.startswith(OPEN, i):
            end = expression_end(text, i)
            if end is None:
                problems.append(problem_at(text, i, "this {{ is never closed with }}"))
                break
            if i > literal_start:
                parts.append(Part(text[literal_start:i], literal_start, False))
            parts.append(Part(text[i + 2 : end - 2], i, True))
            i = literal_start = end
            continue
        if text.startswith("}}", i):
            problems.append(problem_at(text, i, "this }} has no opening {{"))
            i += 2
            continue
        if text.startswith(("{%", "{#"), i):
            problems.append(problem_at(text, i, BLOCKS_UNSUPPORTED))
            i += 2
            continue
        if char in _QUOTES:
            backslashes = char == "'" and i > 0 and text[i - 1] in "eE" and (i < 2 or not _is_word_char(text[i - 2]))
            end = _closing_quote(text, i, backslashes)
            kind = _QUOTES[char]
            if end is None:
                problems.append(problem_at(text, i, f"this {kind} opened with {char} is never closed"))
                break
            flag_expressions(i, end, kind)
            i = end
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            flag_expressions(i, end, "comment")
            i = end
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                problems.append(problem_at(text, i, "this /* comment is never closed with */"))
                break
            flag_expressions(i, end, "comment")
            i = end + 2
            continue
        if char == "$" and (i == 0 or not _is_word_char(text[i - 1])):
            match = _DOLLAR_TAG.match(text, i)
            if match:
                close = text.find(match.group(0), match.end())
                if close < 0:
                    problems.append(problem_at(text, i, f"this dollar-quoted string {match.group(0)} is never closed"))
                    break
                flag_expressions(i, close, "dollar-quoted string")
                i = close + len(match.group(0))
                continue
        i += 1
    if literal_start < n:
        parts.append(Part(text[literal_start:], literal_start, False))
    return Lexed(parts, problems)


def _closing_quote(text: str, start: int, backslashes: bool) -> int | None:
    """Offset past the quote closing the one at ``start`` (doubled quotes stay inside)."""
    quote = text[start]
    i = start + 1
    n = len(text)
    while i < n:
        char = text[i]
        if backslashes and char == "\\":
            i += 2
            continue
        if char == quote:
            if i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return None


@register("sql")
def check(text: str) -> list[InstructionProblem]:
    empty = empty_problem(text)
    if empty:
        return [empty]
    lexed = lex(text)
    return lexed.problems + expression_problems(text, lexed.parts)
