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

An evaluation may also carry a *checkpoint* (``checkpoint``): a moment at which a callback runs once,
from the evaluating thread, if the evaluation is still going then. The engine uses it to store the
step records it holds when a pure step runs long (``flows.engine``). It costs the checks nothing:
the first moment a check compares with is the earlier of the deadline and the checkpoint.

Doing it in-process keeps evaluation cheap: every trigger evaluates expressions, and handing each
one to a killable process would cost milliseconds. A budget that runs out raises ``BudgetExceeded``,
whose message says which budget and what exceeded it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

MAX_INT_BITS = 10_000
MAX_TEXT = 1_000_000
MAX_RANGE = 100_000
DEFAULT_TIME_MS = 3000

# (the first moment to look again: the deadline or an earlier checkpoint, the budget in ms, the deadline)
_deadline: ContextVar[tuple[float, float, float] | None] = ContextVar("expression_deadline", default=None)


class _Checkpoint:
    """``callback``, due once at ``at`` (monotonic clock) if an evaluation is running then."""

    def __init__(self, at: float, callback: Callable[[], None]):
        self.at = at
        self.callback = callback
        self.due = True


_checkpoint: ContextVar[_Checkpoint | None] = ContextVar("expression_checkpoint", default=None)


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
    end = now + max(0.0, milliseconds) / 1000
    end, milliseconds = (end, milliseconds) if current is None or end < current[2] else (current[2], current[1])
    mark = _checkpoint.get()
    first = mark.at if mark is not None and mark.due and mark.at < end else end
    token = _deadline.set((first, milliseconds, end))
    try:
        yield
    finally:
        _deadline.reset(token)


@contextmanager
def checkpoint(seconds: float, callback: Callable[[], None]) -> Iterator[None]:
    """Run ``callback`` once, ``seconds`` from now, if an evaluation started inside the block is still
    running then (from its thread, at its next check). ``callback`` should not raise."""
    token = _checkpoint.set(_Checkpoint(time.monotonic() + seconds, callback))
    try:
        yield
    finally:
        _checkpoint.reset(token)


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
        _passed(current)


def reach_checkpoint() -> None:
    """Run the checkpoint if it is due, leaving the deadline to whoever checks it (JSONata's time box)."""
    current = _deadline.get()
    if current is not None and current[0] < current[2] and time.monotonic() > current[0]:
        _reached()


def _reached() -> None:
    mark = _checkpoint.get()
    if mark is not None and mark.due:
        mark.due = False
        mark.callback()


def _passed(current: tuple[float, float, float]) -> None:
    """The first moment has passed: the deadline, or a checkpoint before it."""
    if time.monotonic() > current[2]:
        raise BudgetExceeded("time", f"it was still running when its {current[1]:.0f} ms ran out")
    _reached()


def remaining_seconds() -> float | None:
    """Seconds left in the current budget (at least a millisecond), or None without one."""
    current = _deadline.get()
    return None if current is None else max(0.001, current[2] - time.monotonic())


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
