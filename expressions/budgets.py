"""Budgets of time and size for user expressions (``{{ }}`` and JSONata mappings).

Expressions run in the worker threads every organization's flows share, so one that computes for
minutes or builds a gigabyte stalls everybody. Each evaluation therefore runs under a *time budget*
(the step's deadline, or ``DEFAULT_TIME_MS`` outside a step) that the evaluators check at every
attribute lookup, call, operator, filter and JSONata node; and each operation whose result can be
far larger than its operands is measured before it runs, so that no single step of the
evaluation can outlast the deadline by much:

- integers: at most ``MAX_INT_BITS`` bits (``**`` and ``*`` estimate the result first);
- text: at most ``MAX_TEXT`` characters from one operation that builds text (repetition, padding,
  widths in ``format`` and ``%``, ``join``, ``replace``, ``expandtabs``, JSONata ``$pad``/``$join``);
- ranges: at most ``MAX_RANGE`` items (Jinja's ``range`` and JSONata's ``[a..b]``; jsonata-js
  allows ten million, which takes a pure-Python JSONata seconds to sum);
- regular expressions in JSONata run with a third of the time left as their timeout (the ``regex``
  module stops a backtracking match, checking coarsely; ``re`` cannot be interrupted).

A single operation on data of the largest allowed size (sorting a million items, say) can still
outlast the deadline by a fraction of a second: the deadline is checked between operations.

Doing it in-process keeps evaluation cheap: every trigger evaluates expressions, and handing each
one to a killable process would cost milliseconds. A budget that runs out raises ``BudgetExceeded``,
whose message says which budget and what exceeded it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_INT_BITS = 10_000
MAX_TEXT = 1_000_000
MAX_RANGE = 100_000
DEFAULT_TIME_MS = 3000

_deadline: ContextVar[tuple[float, float] | None] = ContextVar("expression_deadline", default=None)


class OutOfTime(Exception):
    """A step's deadline passed: the base of every kind of step timeout (a mapping's here, a connector
    call's in ``connectors.catalog.base``), which the engine records as ``timed_out``."""


class BudgetExceeded(Exception):
    """An expression ran out of one of its budgets; ``kind`` is ``time`` or ``size``."""

    def __init__(self, kind: str, detail: str):
        super().__init__(f"exceeded its {kind} budget: {detail}")
        self.kind = kind


@contextmanager
def time_budget(milliseconds: float) -> Iterator[None]:
    """Evaluate within ``milliseconds`` from now, or within the enclosing budget if that ends sooner."""
    now = time.monotonic()
    current = _deadline.get()
    limit = (now + max(0.0, milliseconds) / 1000, milliseconds)
    token = _deadline.set(limit if current is None or limit[0] < current[0] else current)
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def default_time_budget() -> Iterator[None]:
    """The enclosing budget, or ``DEFAULT_TIME_MS`` when the evaluation has none (outside a step)."""
    if _deadline.get() is not None:
        yield
        return
    with time_budget(DEFAULT_TIME_MS):
        yield


def check_time() -> None:
    """Raise when the current budget's deadline has passed (called at every step of an evaluation)."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise BudgetExceeded("time", f"it was still running when its {current[1]:.0f} ms ran out")


def remaining_seconds() -> float | None:
    """Seconds left in the current budget (at least a millisecond), or None without one."""
    current = _deadline.get()
    return None if current is None else max(0.001, current[0] - time.monotonic())


def check_int_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise BudgetExceeded(
            "size", f"the result would be an integer of about {bits:,} bits; the limit is {MAX_INT_BITS:,} bits"
        )


def check_text(length: int, what: str) -> None:
    if length > MAX_TEXT:
        raise BudgetExceeded(
            "size", f"{what} would build text of about {length:,} characters; the limit is {MAX_TEXT:,} characters"
        )


def check_range(length: int) -> None:
    if length > MAX_RANGE:
        raise BudgetExceeded("size", f"a range of more than {MAX_RANGE:,} items ({length:,}) is not allowed")
