"""Sizes measured before an operation of an expression runs, so that no single operation can build
more than ``expressions.budgets`` allows (the sandbox and the JSONata functions both ask here)."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from expressions import budgets
from expressions.budgets import BudgetExceeded, check_time


def measure(value: Any, limit: int) -> int:
    """Characters and items in ``value``, counting shared parts each time they appear (as serialising
    it would); stops counting past ``limit``, so measuring costs no more than the budget."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        total += len(item) if isinstance(item, str) else 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return total


def format_width(spec: str) -> int:
    """The largest text a format spec can ask for: the sum of its numbers (width, precision, fill)."""
    runs = re.findall(r"\d+", spec)
    if any(len(run) > 18 for run in runs):  # past any budget; int() of thousands of digits is slow itself
        return 10**18
    return sum(int(run) for run in runs)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?([#0\- +]*[\d*]*(?:\.[\d*]*)?)")


def check_percent(template: str, args: Any) -> None:
    """``template % args`` within the text budget: widths and precisions (``*`` takes an argument's)."""
    values = args if isinstance(args, tuple) else (args,)
    star = max((abs(v) for v in values if isinstance(v, int)), default=0)
    width = sum(format_width(spec) + (star if "*" in spec else 0) for spec in _PERCENT_SPEC.findall(template))
    budgets.check_text(len(template) + width + measure(args, budgets.MAX_TEXT), "a % format")


def check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and times > 1:
            budgets.check_text(measure(seq, budgets.MAX_TEXT // times + 1) * times, "repeating a value")


def _text_arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def str_method_size(text: str, name: str, args: tuple, kwargs: dict) -> int | None:
    """The size of what a ``str`` method would build, for those that can build more than they get."""
    if name in ("ljust", "rjust", "center", "zfill"):
        width = _text_arg(args, kwargs, 0, "width", 0)
        return max(len(text), width) if isinstance(width, int) else None
    if name == "join" and args:
        items = args[0]
        return sum(len(x) if isinstance(x, str) else 1 for x in items) + len(text) * max(0, len(items) - 1)
    if name == "expandtabs":
        size = _text_arg(args, kwargs, 0, "tabsize", 8)
        return len(text) + text.count("\t") * size if isinstance(size, int) else None
    if name == "replace":
        return replaced_size(text, *(list(args) + [None, None, -1])[:3])
    if name == "translate":
        table = _text_arg(args, kwargs, 0, "table", None)
        values = table.values() if isinstance(table, dict) else ()
        return len(text) * max((len(v) for v in values if isinstance(v, str)), default=1)
    return None


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def bounded_range(*args: int) -> range:
    """Python's range, within the range budget."""
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = budgets.MAX_RANGE + 1
    budgets.check_range(length)
    return numbers


def budgeted(function: Callable) -> Callable:
    """A filter or test that checks the deadline each time it runs (``map`` and ``select`` call them per item)."""

    @wraps(function)  # keeps ``jinja_pass_arg``: Jinja still passes the context or environment
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_time()
        return function(*args, **kwargs)

    return checked


def sized_filter(name: str, function: Callable) -> Callable:
    """Filters that can build far more than they get, measured first; the others only check the deadline."""
    checked = budgeted(function)
    if name == "join":

        @wraps(function)
        def join(eval_ctx, value, d="", attribute=None):
            items = list(value)
            size = sum(len(x) if type(x) is str else measure(x, budgets.MAX_TEXT) for x in items)
            size += len(str(d)) * max(0, len(items) - 1)
            budgets.check_text(size, "join")
            return checked(eval_ctx, items, d, attribute)

        return join
    if name == "format":

        @wraps(function)
        def format_(value, *args, **kwargs):
            check_percent(str(value), kwargs or args)
            return checked(value, *args, **kwargs)

        return format_
    if name == "replace":

        @wraps(function)
        def replace(eval_ctx, s, old, new, count=None):
            budgets.check_text(replaced_size(str(s), old, new, count), "replace")
            return checked(eval_ctx, s, old, new, count)

        return replace
    if name in ("center", "indent", "wordwrap"):

        @wraps(function)
        def padded(*args, **kwargs):
            budgets.check_text(padded_size(name, args, kwargs), name)
            return checked(*args, **kwargs)

        return padded
    if name in ("batch", "slice"):

        @wraps(function)
        def grouped(value, count, *args, **kwargs):
            if isinstance(count, int):
                budgets.check_range(count)
            return checked(value, count, *args, **kwargs)

        return grouped
    if name == "sum":

        @wraps(function)
        def total(environment, iterable, attribute=None, start=0):
            if not isinstance(start, int | float):
                raise BudgetExceeded("size", "sum adds numbers; summing lists or text copies them over and over")
            return checked(environment, iterable, attribute, start)

        return total
    return checked


def padded_size(name: str, args: tuple, kwargs: dict) -> int:
    if name == "wordwrap":  # (environment, s, width, break_long_words, wrapstring, ...)
        text = str(args[1]) if len(args) > 1 else ""
        wrap = args[4] if len(args) > 4 else kwargs.get("wrapstring")
        return len(text) * (1 + len(str(wrap or "\n")))
    text = str(args[0]) if args else ""
    width = _text_arg(args, kwargs, 1, "width", 80 if name == "center" else 4)
    if name == "center":
        return max(len(text), width) if isinstance(width, int) else len(text)
    per_line = width if isinstance(width, int) else len(str(width))
    return len(text) + (text.count("\n") + 1) * per_line
