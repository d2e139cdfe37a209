"""The value of an expression a step option holds: a branch's condition, a for-each's list, a
called flow's payload, a response's body.

One field accepts the two notations users already write elsewhere, told apart by their form:

- a whole ``{{ expr }}`` is a Jinja expression whose value keeps its JSON type (a list stays a list);
- text with ``{{ }}`` parts among other characters is text, each part replaced by its value;
- anything else is JSONata over the properties, as in a mapping step.

Every evaluation runs within the time its step has left, so no condition or list can hang a worker.
"""

from __future__ import annotations

from typing import Any

from expressions import budgets
from expressions.mapping import evaluate_mapping, mapping_syntax_error
from expressions.sandbox import ExpressionError, concat, evaluate, syntax_error
from expressions.template import scan


def _whole(text: str) -> str | None:
    """The inner expression when ``text`` is exactly one ``{{ }}`` (spaces around allowed)."""
    parts, problems = scan(text.strip())
    if not problems and len(parts) == 1 and parts[0].is_expression:
        return parts[0].text
    return None


def is_template(text: str) -> bool:
    return "{{" in text or "}}" in text


def interpolate(text: str, context: dict) -> str:
    """Text with every ``{{ }}`` replaced by its value as text."""
    parts, problems = scan(text)
    if problems:
        raise ExpressionError(problems[0].message)
    return "".join(concat(evaluate(p.text, context)) if p.is_expression else p.text for p in parts)


def value_of(text: str, context: dict, timeout_ms: float) -> Any:
    """The value of ``text`` over the properties ``context`` (see the module docstring)."""
    if not is_template(text):
        return evaluate_mapping(text, context, max(1, int(timeout_ms)))
    with budgets.time_budget(timeout_ms):
        inner = _whole(text)
        return evaluate(inner, context) if inner is not None else interpolate(text, context)


def value_problem(text: str) -> str | None:
    """Why ``text`` cannot be evaluated (a syntax error, in words), or None."""
    if not isinstance(text, str) or not text.strip():
        return "it is empty"
    if not is_template(text):
        problem = mapping_syntax_error(text)
        return problem[2] if problem else None
    parts, problems = scan(text)
    if problems:
        return problems[0].message
    for part in parts:
        if part.is_expression:
            problem = syntax_error(part.text)
            if problem:
                return problem
    return None


def truthy(value: Any) -> bool:
    """A condition's verdict: JSONata's and Jinja's false values, and the texts people write for no."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no", "off", "null")
    return bool(value)
