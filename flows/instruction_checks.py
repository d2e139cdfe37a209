"""Checking one instruction as the graph validation would, for the editor to mark problems as the user types."""

from __future__ import annotations

import instructions
from connectors import catalog
from expressions.mapping import mapping_syntax_error
from instructions import bapi
from instructions.bapi.lexer import tokenize

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


FORMATTED_LANGUAGES = ("bapi",)
COMMENTS_DROPPED = (
    "the instruction has comments, which formatting would drop; remove them (or keep the layout as it is) to format it"
)


class NotFormattable(Exception):
    """Why an instruction is not formatted: its problems (as ``check_instruction`` lists them), or a reason."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.message, self.problems = message, problems or []


def format_instruction(language: str, text: str) -> str:
    """``text`` written back in the language's canonical layout. Only what parses is formatted, and a BAPI
    instruction with comments is refused: the writer works from the parsed calls, where comments are gone,
    and losing a person's notes silently is worse than not formatting."""

    if language not in FORMATTED_LANGUAGES:
        raise NotFormattable(
            f"{language} instructions cannot be formatted; these can: {', '.join(FORMATTED_LANGUAGES)}."
        )
    problems = check_instruction(language, text)
    if problems:
        raise NotFormattable("the instruction has problems; fix them to format it", problems)
    if _has_comments(text):
        raise NotFormattable(COMMENTS_DROPPED)
    return bapi.format_calls(bapi.parse(text))


def _has_comments(text: str) -> bool:
    """Whether anything but whitespace lies outside the tokens: the lexer drops only comments and whitespace."""
    covered = [False] * len(text)
    for token in tokenize(text).tokens:
        for index in range(token.start, min(len(text), token.start + len(token.text or ""))):
            covered[index] = True
    return any(not covered[i] and not char.isspace() for i, char in enumerate(text))
