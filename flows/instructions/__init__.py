"""Checkers for the native instruction languages of connector steps, keyed by language.

A connector type declares its ``language`` ("sql", later "bapi", "http"); graph validation asks
``check(language, text)`` for problems with a line and a column, so the editor can point at them.
A language plugs in with ``@register("bapi")`` on a function ``(text) -> list[InstructionProblem]``
in its own module, imported at the bottom of this file. A language without a checker has nothing
to check beyond its ``{{ }}`` expressions, which ``check`` always verifies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class InstructionProblem:
    """One thing wrong with an instruction, at a 1-based line and column."""

    line: int
    column: int
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "message": self.message}

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


Checker = Callable[[str], list[InstructionProblem]]
_CHECKERS: dict[str, Checker] = {}


def register(language: str) -> Callable[[Checker], Checker]:
    def decorator(checker: Checker) -> Checker:
        if language in _CHECKERS:
            raise ValueError(f"instruction language {language!r} is registered twice")
        _CHECKERS[language] = checker
        return checker

    return decorator


def languages() -> list[str]:
    return sorted(_CHECKERS)


def check(language: str, text: str) -> list[InstructionProblem]:
    """Every problem of ``text`` in ``language``; an empty list means it can be saved."""
    checker = _CHECKERS.get(language)
    if checker is not None:
        return checker(text)
    from flows.instructions.generic import check_template

    return check_template(text)


from flows.instructions import sql  # noqa: E402,F401 - registers the "sql" checker
