"""Checkers and renderers for the native instruction languages of connector steps, keyed by language.

A connector type declares its ``language`` ("sql", "bapi", "http"); graph validation asks
``check(language, text, dialect)`` for problems with a line and a column, so the editor can point at
them. ``dialect`` is the connector type's ``sql_dialect`` (how its database reads quotes and
comments); it reaches a checker only when known, so the checkers of other languages take ``(text)``.
A language plugs in with ``@register("bapi")`` on a function ``(text) -> list[InstructionProblem]``
in its own module, imported at the bottom of this file. A language without a checker has nothing
to check beyond its ``{{ }}`` expressions, which ``check`` always verifies.

A language whose values need their own treatment (typed BAPI parameters, URL-encoded HTTP paths)
registers ``@renderer("bapi")`` on ``(text, context) -> Rendered``; the others get their ``{{ }}``
replaced by text (``instructions.render.render_instruction``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


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


@dataclass
class Rendered:
    """An instruction ready for the connector: text (with placeholders for SQL), and the values to bind."""

    text: str
    params: dict = field(default_factory=dict)


Checker = Callable[..., list[InstructionProblem]]  # (text) or, for SQL, (text, dialect)
Renderer = Callable[[str, dict], Rendered]
_CHECKERS: dict[str, Checker] = {}
_RENDERERS: dict[str, Renderer] = {}


def register(language: str) -> Callable[[Checker], Checker]:
    def decorator(checker: Checker) -> Checker:
        if language in _CHECKERS:
            raise ValueError(f"instruction language {language!r} is registered twice")
        _CHECKERS[language] = checker
        return checker

    return decorator


def renderer(language: str) -> Callable[[Renderer], Renderer]:
    def decorator(render: Renderer) -> Renderer:
        if language in _RENDERERS:
            raise ValueError(f"instruction renderer {language!r} is registered twice")
        _RENDERERS[language] = render
        return render

    return decorator


def renderer_for(language: str) -> Renderer | None:
    return _RENDERERS.get(language)


def languages() -> list[str]:
    return sorted(_CHECKERS)


def check(language: str, text: str, dialect: str | None = None) -> list[InstructionProblem]:
    """Every problem of ``text`` in ``language``; an empty list means it can be saved."""
    checker = _CHECKERS.get(language)
    if checker is not None:
        return checker(text) if dialect is None else checker(text, dialect)
    return generic.check_template(text)


# The languages register their checkers and renderers when imported; they import the names above,
# so they come last.
from instructions import bapi, generic, http, sql  # noqa: E402,F401
