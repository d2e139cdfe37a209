"""Checking one instruction as the graph validation would, for the editor to mark problems as the user types."""

from __future__ import annotations

import instructions
from connectors import catalog
from expressions.mapping import mapping_syntax_error

MAPPING_LANGUAGE = "jsonata"


def instruction_languages() -> list[str]:
    """What can be checked: every language a checker is registered for or a connector type declares (those
    without a checker still get their ``{{ }}`` checked), and ``jsonata`` for mapping steps."""

    declared = {type_cls.language for type_cls in catalog.all_types()}
    return sorted({*instructions.languages(), *declared, MAPPING_LANGUAGE})


def check_instruction(language: str, text: str, dialect: str | None = None) -> list[dict]:
    """Problems of ``text`` in ``language`` (SQL read as ``dialect``'s database reads it) at line and
    column, as the graph validation finds them."""

    if language == MAPPING_LANGUAGE:
        error = mapping_syntax_error(text)
        return [] if error is None else [{"line": error[0], "column": error[1], "message": error[2]}]
    return [problem.as_dict() for problem in instructions.check(language, text, dialect)]
