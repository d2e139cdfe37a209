"""The checks every instruction gets, whatever its language: not empty, well-formed ``{{ }}``."""

from __future__ import annotations

from expressions.sandbox import syntax_error
from expressions.template import Part, position, scan
from instructions import InstructionProblem


def problem_at(text: str, index: int, message: str) -> InstructionProblem:
    where = position(text, index)
    return InstructionProblem(where.line, where.column, message)


def empty_problem(text: str) -> InstructionProblem | None:
    if text is None or not str(text).strip():
        return InstructionProblem(1, 1, "the instruction is empty")
    return None


def expression_problems(text: str, parts: list[Part]) -> list[InstructionProblem]:
    """A problem for every ``{{ }}`` whose expression is empty or not valid Jinja syntax."""

    problems = []
    for part in parts:
        if not part.is_expression:
            continue
        error = syntax_error(part.text)
        if error:
            problems.append(problem_at(text, part.start, error))
    return problems


def check_template(text: str) -> list[InstructionProblem]:
    empty = empty_problem(text)
    if empty:
        return [empty]
    parts, scan_problems = scan(text)
    problems = [problem_at(text, p.start, p.message) for p in scan_problems]
    return problems + expression_problems(text, parts)
