"""JSONata, the language of mapping steps (and of HTTP response mappings), within the budgets.

Ranges are capped, regular expressions run with a timeout (``regex``, which can stop a
backtracking match), the functions that build text are measured first, and evaluation stops at
the step's deadline (``MappingTimeout``, a kind of ``OutOfTime``) or at ``MAPPING_MAX_DEPTH``
nested calls.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import jsonata
import regex
from jsonata import functions as jsonata_functions
from jsonata.parser import Parser
from jsonata.regex_engine import RegexFlags

from expressions import budgets, sizes
from expressions.budgets import BudgetExceeded, OutOfTime
from expressions.sandbox import MAX_NESTING, TOO_DEEP, ExpressionError, TooDeep, bracket_depth
from expressions.template import position


class MappingTimeout(ExpressionError, OutOfTime):
    """A mapping ran past its step's deadline."""


MAPPING_MAX_DEPTH = 500
_mapping_cache = threading.local()


class _TimedPattern:
    """A JSONata regex compiled with the ``regex`` module, whose matching stops when the expression's
    time budget runs out (``re`` cannot be interrupted: ``/^(a+)+$/`` would backtrack for minutes).

    ``regex`` checks its timeout coarsely: a backtracking match stopped after up to three times the
    timeout given, so a match gets a third of the time left.
    """

    def __init__(self, pattern: str, flags: RegexFlags):
        options = (regex.IGNORECASE if flags.case_insensitive else 0) | (regex.MULTILINE if flags.multiline else 0)
        self.compiled = regex.compile(pattern, options | regex.VERSION0)

    def search(self, string: str) -> Any:
        return self.compiled.search(string, timeout=_regex_timeout())

    def finditer(self, string: str) -> Any:
        return self.compiled.finditer(string, timeout=_regex_timeout())

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count=count, timeout=_regex_timeout())

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self.compiled.split(string, maxsplit=maxsplit, timeout=_regex_timeout())


def _regex_timeout() -> float | None:
    left = budgets.remaining_seconds()
    return None if left is None else left / 3


class _Functions(jsonata_functions.Functions):
    """The JSONata functions that can build far more text than they get, measured first."""

    @staticmethod
    def pad(string: str | None, width: Any, char: str | None) -> str | None:
        if string is not None and isinstance(width, int | float):
            budgets.check_text(int(abs(width)), "$pad")
        return jsonata_functions.Functions.pad(string, width, char)

    @staticmethod
    def join(strs: list | None, separator: str | None) -> str | None:
        if strs is not None:
            size = sum(len(s) for s in strs if isinstance(s, str)) + len(separator or "") * max(0, len(strs) - 1)
            budgets.check_text(size, "$join")
        return jsonata_functions.Functions.join(strs, separator)

    @staticmethod
    def replace(string: str | None, pattern: Any, replacement: Any, limit: int | None) -> str | None:
        if isinstance(string, str):
            budgets.check_text(sizes.replaced_size(string, pattern, replacement, limit), "$replace")
        return jsonata_functions.Functions.replace(string, pattern, replacement, limit)


_MAPPING_FUNCTIONS = {
    name: jsonata.Jsonata.JNativeFunction(name, signature, _Functions, name)
    for name, signature in (("pad", "<s-ns?:s>"), ("join", "<a<s>s?:s>"), ("replace", "<s-(sf)(sf)n?:s>"))
}


class _Mapping(jsonata.Jsonata):
    """A JSONata expression evaluated within the budgets: ranges capped, regexes timed, text measured."""

    def __init__(self, text: str):
        if bracket_depth(text, "'\"`") > MAX_NESTING:
            raise TooDeep
        try:
            super().__init__(text, regex_engine=_TimedPattern)
        except RecursionError:
            raise TooDeep from None

    def evaluate_range_expression(self, lhs: Any, rhs: Any) -> Any:
        if sizes.is_int(lhs) and sizes.is_int(rhs) and rhs >= lhs:
            budgets.check_range(rhs - lhs + 1)
        return super().evaluate_range_expression(lhs, rhs)


def _compiled_mapping(text: str) -> _Mapping:
    """Parsed JSONata expressions, cached per thread (an expression object is not shared across threads)."""
    cache = getattr(_mapping_cache, "entries", None)
    if cache is None:
        cache = _mapping_cache.entries = {}
    expression = cache.get(text)
    if expression is None:
        if len(cache) >= 512:
            cache.clear()
        expression = cache[text] = _Mapping(text)
        # The properties are JSON already; checking them costs more than the mapping.
        expression.set_validate_input(False)
    return expression


def evaluate_mapping(text: str, data: dict, timeout_ms: int) -> Any:
    """The output of a mapping step: its JSONata expression over the step's properties.

    Raises ``MappingTimeout`` when it runs longer than ``timeout_ms`` and ``ExpressionError`` otherwise.
    """
    try:
        expression = _compiled_mapping(text)
        bounds = expression.create_frame()
        bounds.set_runtime_bounds(timeout_ms, MAPPING_MAX_DEPTH)
        _with_budget_checks(bounds)
        for name, function in _MAPPING_FUNCTIONS.items():
            bounds.bind(name, function)
        with budgets.time_budget(timeout_ms):
            result = expression.evaluate(data, bounds)
    except jsonata.JException as exc:
        if exc.error == "D1012":
            raise MappingTimeout(f"The mapping ran longer than its timeout of {timeout_ms} ms.") from None
        raise ExpressionError(f"The mapping failed: {exc}") from None
    except TimeoutError:
        raise MappingTimeout(
            f"The mapping exceeded its time budget: a regular expression was still matching when its "
            f"{timeout_ms} ms ran out."
        ) from None
    except BudgetExceeded as exc:
        raise (MappingTimeout if exc.kind == "time" else ExpressionError)(f"The mapping {exc}") from None
    except TooDeep:
        raise ExpressionError("The mapping " + TOO_DEEP.format(limit=MAX_NESTING)) from None
    except RecursionError:
        raise ExpressionError("The mapping recursed too deeply.") from None
    except (ValueError, TypeError, ArithmeticError, regex.error) as exc:  # some jsonata functions raise these bare
        raise ExpressionError(f"The mapping failed: {exc}") from None
    try:
        return json.loads(json.dumps(result, ensure_ascii=False))
    except (TypeError, ValueError):
        raise ExpressionError("The mapping produced something that is not JSON data (a function?).") from None


def _with_budget_checks(bounds) -> None:
    """JSONata's own time box checks the deadline on entering each node; there a checkpoint set around
    the evaluation is looked at as well (``budgets.reach_checkpoint``: ``flows.engine`` stores the
    step records it holds while a mapping computes for long)."""
    entry = bounds.lookup("__evaluate_entry")

    def entry_and_budget(expression, data, environment):
        entry(expression, data, environment)
        budgets.reach_checkpoint()

    bounds.set_evaluate_entry_callback(entry_and_budget)


def mapping_syntax_error(text: str) -> tuple[int, int, str] | None:
    """``(line, column, message)`` when a mapping's JSONata expression does not parse."""
    if not text.strip():
        return 1, 1, "the mapping expression is empty"
    try:
        _Mapping(text)
    except TooDeep:
        return 1, 1, "the JSONata expression " + TOO_DEEP.format(limit=MAX_NESTING)
    except jsonata.JException as exc:
        where = position(text, max(0, min(int(exc.location or 0), len(text))))
        return where.line, where.column, f"the JSONata expression does not parse: {exc}"
    except Exception as exc:
        return 1, 1, f"the JSONata expression does not parse: {exc}"
    return None


def mapping_step_references(text: str) -> list[str]:
    """Names used as ``steps.<name>`` in a JSONata expression (from its syntax tree, not its text)."""
    try:
        tree = _Mapping(text).ast
    except Exception:
        return []
    found: list[str] = []
    seen: set[int] = set()
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list | tuple):
            pending.extend(node)
            continue
        if not isinstance(node, Parser.Symbol) or id(node) in seen:
            continue
        seen.add(id(node))
        path = getattr(node, "steps", None)
        if node.type == "path" and isinstance(path, list) and len(path) > 1:
            first, second = path[0], path[1]
            if first.type == "name" and first.value == "steps" and second.type == "name":
                found.append(second.value)
        pending.extend(value for key, value in vars(node).items() if not key.startswith("_"))
    return found
