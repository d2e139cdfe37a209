"""SQL instructions: a small lexer that knows where quotes, comments and ``{{ }}`` are, per database.

It is not a SQL parser (every database has its own grammar, and the database itself reports
syntax errors at run time). It finds what would make an instruction unsafe or misleading before
it is saved: an empty text, an unbalanced ``{{ }}``, a quote, quoted identifier, block comment or
dollar-quoted string that is never closed, and a ``{{ }}`` inside a quoted string or a comment,
where it would not become a bind parameter. ``instructions.render.render_sql`` uses the same
segments to turn each expression into a placeholder and copy everything else verbatim, so the
check and the run always agree.

Databases do not read quotes alike, and a ``{{ }}`` is safe only where the database reads code,
so the lexer reads an instruction the way its connector's database does (``sql_dialect`` on the
connector type):

- PostgreSQL: ``'it''s'``, ``E'it\\'s'``, ``"name"``, ``$tag$...$tag$``, ``--`` and nested ``/* */``.
- MySQL and MariaDB: a backslash escapes in ``'...'`` and in ``"..."`` (a string there); ```name```;
  ``#`` comments, ``--`` comments only before a space or a control character, ``/* */``. The text
  of ``/*! */``, ``/*M! */`` and ``/*+ */`` is run as SQL by some servers and skipped by others, so
  it may hold no quotes, comments or ``{{ }}``. PyMySQL writes each value into the statement text,
  and the server's ``sql_mode`` (``NO_BACKSLASH_ESCAPES``, ``ANSI_QUOTES``) and version (MySQL 9
  reads ``$tag$`` strings) are unknown when a flow is saved, so an instruction is accepted only
  when every one of those readings cuts it into the same literal text and ``{{ }}``; the run
  applies the same rule, so it never depends on the live server's mode. For the same reason a
  ``{{ }}`` may not touch a name, a number or a quote: the value written there would join it.
- Oracle: ``'it''s'``, ``q'[it's]'`` (and ``nq'...'``), ``"name"``, ``--`` and ``/* */``.
- SQLite: ``'it''s'``, ``"name"``, ```name```, ``[name]``, ``--`` and ``/* */``.

Without a dialect (a check that names no database) every database's reading applies, and a
problem only some of them have names them. A NUL character is refused everywhere: MySQL ends a
``#`` comment at one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

from expressions.template import BLOCKS_UNSUPPORTED, CLOSE, OPEN, Part, expression_end
from instructions import InstructionProblem, register
from instructions.generic import empty_problem, expression_problems, problem_at

_DOLLAR_TAG = re.compile(r"\$([^\W\d]\w*)?\$")
_Q_CLOSERS = {"[": "]", "{": "}", "(": ")", "<": ">"}
_CODE_COMMENTS = ("/*!", "/*M!", "/*+")
_NOT_IN_CODE_COMMENTS = ("'", '"', "`", "#", "--", "/*")
_GLUED = (
    "MySQL and MariaDB read a value written against a name, a number or a quote as part of it (x'...' is hex, "
    "@'...' a variable, 'a''b' one string); put a space between them"
)
_NUL = "a NUL character ends a comment in MySQL and has no place in SQL; remove it"
_HIDDEN_CODE = (
    "MySQL and MariaDB run the text of /*! */, /*M! */ and /*+ */ comments as SQL or skip it, and the two "
    "read quotes and comments inside one differently; write that SQL without the comment around it"
)


@dataclass(frozen=True)
class Reading:
    """How one database, in one server mode, reads quotes and comments."""

    name: str
    strings: str  # quote characters that open a string
    identifiers: str  # quote characters that open a quoted name ("[" closes with "]")
    backslash: str = ""  # quotes whose text takes backslash escapes
    e_strings: bool = False  # PostgreSQL E'...': backslash escapes
    q_quotes: bool = False  # Oracle q'[...]'
    dollar_quotes: bool = False  # $tag$ ... $tag$
    hash_comments: bool = False  # "#" to the end of the line
    spaced_dashes: bool = False  # "--" is a comment only before a space or a control character
    nested_comments: bool = False
    code_comments: bool = False  # /*! */, /*M! */ and /*+ */ hold SQL
    values_in_text: bool = False  # the driver writes values into the text: none may touch a word or quote
    # The problem when this reading cuts an instruction unlike its database's first reading.
    differs: str = ""


POSTGRESQL = Reading("PostgreSQL", "'", '"', e_strings=True, dollar_quotes=True, nested_comments=True)
MYSQL = Reading(
    "MySQL/MariaDB",
    "'\"",
    "`",
    backslash="'\"",
    hash_comments=True,
    spaced_dashes=True,
    code_comments=True,
    values_in_text=True,
)
ORACLE = Reading("Oracle", "'", '"', q_quotes=True)
SQLITE = Reading("SQLite", "'", '"`[')

_NO_BACKSLASH_ESCAPES = (
    "a backslash before a quote ends this string in a different place when the server sets "
    "NO_BACKSLASH_ESCAPES, so a {{ }} after it could be read inside the string; write a quote inside "
    "a string doubled ('') instead of with a backslash"
)
_ANSI_QUOTES = (
    "this double-quoted text is a string in MySQL and MariaDB but a name when the server sets "
    "ANSI_QUOTES, and the two end in different places, so a {{ }} after it could be read inside "
    "quotes; write strings in single quotes"
)
_DOLLAR_STRINGS = (
    "MySQL 9 reads $...$ as a string where MariaDB and older MySQL read names, so a {{ }} here could "
    "be read inside quotes; do not start a name with $"
)


def _mysql_readings() -> tuple[Reading, ...]:
    """Every combination of the server modes that move where a MySQL string ends, the default first.

    A combination that disagrees with the default is reported with the advice of its first mode.
    """
    readings = []
    for no_backslash, ansi, dollar in sorted(itertools.product((False, True), repeat=3), key=sum):
        strings, identifiers = ("'", '"`') if ansi else ("'\"", "`")
        advice = [_NO_BACKSLASH_ESCAPES] * no_backslash + [_ANSI_QUOTES] * ansi + [_DOLLAR_STRINGS] * dollar
        readings.append(
            replace(
                MYSQL,
                strings=strings,
                identifiers=identifiers,
                backslash="" if no_backslash else strings,
                dollar_quotes=dollar,
                differs=advice[0] if advice else "",
            )
        )
    return tuple(readings)


READINGS: dict[str, tuple[Reading, ...]] = {
    "postgresql": (POSTGRESQL,),
    "mysql": _mysql_readings(),
    "oracle": (ORACLE,),
    "sqlite": (SQLITE,),
}
DIALECTS = tuple(READINGS)


@dataclass(frozen=True)
class Lexed:
    """An instruction cut into literal SQL and expressions, plus what is wrong with it (immutable: ``lex``
    hands the same one to every step that runs the instruction)."""

    parts: tuple[Part, ...]
    problems: tuple[InstructionProblem, ...]


@dataclass(frozen=True)
class _Cut:
    parts: list[Part]
    problems: list[InstructionProblem]
    skipped: list[tuple[int, int]]  # (start, end) of every string, name and comment


@dataclass(frozen=True)
class _Region:
    """A string, quoted name or comment starting at some offset; ``end`` is None when never closed."""

    end: int | None
    where: str
    unclosed: str = ""
    problem: str = ""


@lru_cache(maxsize=2048)
def lex(text: str, dialect: str | None = None) -> Lexed:
    """``text`` cut as the database of ``dialect`` reads it (every database's reading when None).

    Cached: a step runs the same instruction on every execution, and MySQL's several readings would
    otherwise cut it up to eight times each time."""
    if dialect is None:
        return _any_database(text)
    if dialect not in READINGS:
        raise ValueError(f"unknown SQL dialect {dialect!r}; use one of: {', '.join(DIALECTS)}")
    first, *others = READINGS[dialect]
    cut = _cut(text, first)
    parts = tuple(cut.parts)
    if cut.problems:
        return Lexed(parts, tuple(cut.problems))
    for reading in others:
        other = _cut(text, reading)
        if other.parts != cut.parts:
            return Lexed(parts, (problem_at(text, _divergence(cut.skipped, other.skipped), reading.differs),))
    return Lexed(parts, ())


def _any_database(text: str) -> Lexed:
    """Every problem some database finds, naming the database when not all of them find it.

    Where no database finds a problem, they all found the same ``{{ }}`` in code, so any one's parts do.
    """
    found = {dialect: lex(text, dialect) for dialect in DIALECTS}
    problems: set[InstructionProblem] = set()
    for dialect, lexed in found.items():
        for problem in lexed.problems:
            if not all(problem in other.problems for other in found.values()):
                message = f"{READINGS[dialect][0].name}: {problem.message}"
                problem = InstructionProblem(problem.line, problem.column, message)
            problems.add(problem)
    ordered = sorted(problems, key=lambda p: (p.line, p.column, p.message))
    return Lexed(found[DIALECTS[0]].parts, tuple(ordered))


def _divergence(mine: list[tuple[int, int]], theirs: list[tuple[int, int]]) -> int:
    """Where two readings first skip different text: the start of the first string or comment they disagree on."""
    for a, b in zip(mine, theirs, strict=False):
        if a != b:
            return min(a[0], b[0])
    longer = mine if len(mine) > len(theirs) else theirs
    shorter = min(len(mine), len(theirs))
    return longer[shorter][0] if len(longer) > shorter else 0


def _cut(text: str, reading: Reading) -> _Cut:
    problems: list[InstructionProblem] = []
    parts: list[Part] = []
    skipped: list[tuple[int, int]] = []
    literal_start = 0
    i = 0
    n = len(text)
    while i < n:
        if text.startswith(OPEN, i):
            end = expression_end(text, i)
            if end is None:
                problems.append(problem_at(text, i, "this {{ is never closed with }}"))
                break
            if i > literal_start:
                parts.append(Part(text[literal_start:i], literal_start, False))
            parts.append(Part(text[i + 2 : end - 2], i, True))
            if reading.values_in_text and _glued(text, i, end):
                problems.append(problem_at(text, i, _GLUED))
            i = literal_start = end
            continue
        if text.startswith(CLOSE, i):
            problems.append(problem_at(text, i, "this }} has no opening {{"))
            i += 2
            continue
        if text.startswith(("{%", "{#"), i):
            problems.append(problem_at(text, i, BLOCKS_UNSUPPORTED))
            i += 2
            continue
        region = _region(text, i, reading)
        if region is None:
            i += 1
            continue
        if region.end is None:
            skipped.append((i, n))
            problems.append(problem_at(text, i, region.unclosed))
            break
        skipped.append((i, region.end))
        found = text.find(OPEN, i, region.end)
        if found >= 0:
            problems.append(
                problem_at(
                    text,
                    found,
                    f"a {{{{ }}}} inside a {region.where} is not bound as a parameter; "
                    f"write it outside the {region.where} (values are quoted by the database driver)",
                )
            )
        elif region.problem:
            problems.append(problem_at(text, i, region.problem))
        i = region.end
    if literal_start < n:
        parts.append(Part(text[literal_start:], literal_start, False))
    nul = text.find("\0")
    if nul >= 0:
        problems.append(problem_at(text, nul, _NUL))
    return _Cut(parts, problems, skipped)


def _region(text: str, i: int, reading: Reading) -> _Region | None:
    """The string, quoted name or comment that starts at ``i`` in this reading, if one does."""
    char = text[i]
    if char in reading.strings or char in reading.identifiers:
        if reading.q_quotes and char == "'" and _q_prefixed(text, i):
            return _q_quoted(text, i)
        backslashes = char in reading.backslash or (
            reading.e_strings and char == "'" and _prefixed(text, i, "eE", _is_postgres_word_char)
        )
        kind = "string" if char in reading.strings else "quoted identifier"
        end = _closing_quote(text, i, "]" if char == "[" else char, backslashes)
        unclosed = f"this {kind} opened with {char} is never closed"
        if backslashes and "\\" in text[i:]:
            unclosed += f" (a backslash keeps the {char} after it inside; write \\\\ for a backslash itself)"
        return _Region(end, kind, unclosed)
    dashes = text.startswith("--", i) and (not reading.spaced_dashes or _spaced(text, i + 2))
    if dashes or (reading.hash_comments and char == "#"):
        end = text.find("\n", i)
        return _Region(len(text) if end < 0 else end, "comment")
    if text.startswith("/*", i):
        end = _comment_end(text, i, reading.nested_comments)
        unclosed = "this /* comment is never closed with */"
        if _holds_hidden_code(text, i, end, reading):
            return _Region(end, "comment", unclosed, _HIDDEN_CODE)
        return _Region(end, "comment", unclosed)
    if reading.dollar_quotes and char == "$" and (i == 0 or not _is_postgres_word_char(text[i - 1])):
        match = _DOLLAR_TAG.match(text, i)
        if match:
            close = text.find(match.group(0), match.end())
            end = None if close < 0 else close + len(match.group(0))
            return _Region(end, "dollar-quoted string", f"this dollar-quoted string {match.group(0)} is never closed")
    return None


def _holds_hidden_code(text: str, start: int, end: int | None, reading: Reading) -> bool:
    """A MySQL /*! */, /*M! */ or /*+ */ comment holding quotes or comments: servers that run its text as
    SQL find its end elsewhere than servers that skip it (and than this lexer)."""
    if end is None or not reading.code_comments or not text.startswith(_CODE_COMMENTS, start):
        return False
    return any(mark in text[start + 2 : end - 2] for mark in _NOT_IN_CODE_COMMENTS)


def _glued(text: str, start: int, end: int) -> bool:
    """Whether the value PyMySQL writes for the ``{{ }}`` at ``start:end`` would join what touches it:
    ``x'ab'`` is hex, ``@'v'`` a variable, ``'a''b'`` one string, ``col5`` a name, ``5.x`` a qualified one."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return before.isalnum() or before in "_$@'." or after.isalnum() or after in "_$'.{"


def _is_postgres_word_char(char: str) -> bool:
    return char.isalnum() or char in "_$"


def _is_oracle_word_char(char: str) -> bool:
    return char.isalnum() or char in "_$#"


def _prefixed(text: str, i: int, letters: str, is_word_char: Callable[[str], bool]) -> bool:
    """Whether the quote at ``i`` follows one of ``letters`` that starts a word (E'...', q'...')."""
    return i > 0 and text[i - 1] in letters and (i < 2 or not is_word_char(text[i - 2]))


def _q_prefixed(text: str, i: int) -> bool:
    return _prefixed(text, i, "qQ", _is_oracle_word_char) or (
        i > 1 and text[i - 1] in "qQ" and _prefixed(text, i - 1, "nN", _is_oracle_word_char)
    )


def _q_quoted(text: str, i: int) -> _Region:
    """Oracle's q'<d>...<d>'': the text ends at the closing delimiter followed by a quote, nothing is escaped."""
    unclosed = "this q-quoted string opened with q' is never closed"
    if i + 1 >= len(text) or text[i + 1].isspace():
        return _Region(None, "string", "this q-quoted string needs a delimiter after q', for example q'[it's]'")
    close = text.find(_Q_CLOSERS.get(text[i + 1], text[i + 1]) + "'", i + 2)
    return _Region(None if close < 0 else close + 2, "string", unclosed)


def _spaced(text: str, i: int) -> bool:
    """MySQL's rule for "--": a comment when the next character is a space or a control character (or none)."""
    return i >= len(text) or text[i] == " " or ord(text[i]) < 32 or ord(text[i]) == 127


def _comment_end(text: str, start: int, nested: bool) -> int | None:
    """Offset past the ``*/`` closing the comment opened at ``start``; PostgreSQL counts nested ``/* */``."""
    depth = 1
    i = start + 2
    while i < len(text):
        if text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        elif nested and text.startswith("/*", i):
            depth += 1
            i += 2
        else:
            i += 1
    return None


def _closing_quote(text: str, start: int, quote: str, backslashes: bool) -> int | None:
    """Offset past the quote closing the one at ``start`` (doubled quotes stay inside)."""
    i = start + 1
    n = len(text)
    while i < n:
        char = text[i]
        if backslashes and char == "\\":
            i += 2
            continue
        if char == quote:
            if quote != "]" and i + 1 < n and text[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return None


@register("sql")
def check(text: str, dialect: str | None = None) -> list[InstructionProblem]:
    empty = empty_problem(text)
    if empty:
        return [empty]
    lexed = lex(text, dialect)
    return [*lexed.problems, *expression_problems(text, list(lexed.parts))]
