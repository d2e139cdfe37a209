"""The items of a for-each: its body run once per batch, one at a time or several at once.

Each batch runs the body's steps through the engine's own ``run_group`` in the scope
``<for-each id>[<batch number>]``, so a resumed execution finds the items that finished in their
records and runs only the rest. With a concurrency above 1, the loop's own thread and up to
``concurrency - 1`` threads of a pool the process keeps take batches in order. The pool's threads
live on with their database connections (checked before each use, as a request would), so a loop
opens no connection once the process has warmed up. Stopping is
cooperative: after a failed item (without ``continue_on_error``), a cancel or a lost lease, no
new item starts and the items in flight finish their current step.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

from django.db import close_old_connections, connections, reset_queries

from flows.kinds.base import Call, StepFailed
from flows.kinds.foreach import MAX_CONCURRENCY

# Shared by the loops of this process; a loop whose helpers wait for a free thread still advances
# in its own thread, so a busy pool slows loops down but never stops one.
_pool = ThreadPoolExecutor(max_workers=2 * MAX_CONCURRENCY, thread_name_prefix="erpflow-item")


def run(delivery, call: Call, batches: list, context_of) -> list:
    """The outputs of the batches in order, a failed one as ``{"index": i, "error": ...}``."""
    step = call.step
    delivery.note_progress(step, len(batches))
    results: list[Any] = [None] * len(batches)
    failures: list[int] = []
    uneven: list[int] = []  # items whose body ignored an error (Ignore Errors of a body step)
    stop: list[BaseException] = []
    lock = threading.Lock()
    following = iter(range(len(batches)))

    def one(number: int) -> None:
        outcome = delivery.run_group(
            step["id"], f"{step['id']}[{number}]", number, dict(call.outputs), context_of(number, batches[number])
        )
        with lock:
            if outcome.status == "failed":
                results[number] = {"index": number * step["batch_size"], "error": outcome.error}
                failures.append(number)
            else:
                results[number] = outcome.output
                if outcome.had_errors:
                    uneven.append(number)

    def take() -> int | None:
        with lock:
            if stop or (failures and not step["continue_on_error"]):
                return None
            return next(following, None)

    def work(pooled: bool) -> None:
        if pooled:  # as at a request's start: a connection the database closed meanwhile is replaced, not used,
            reset_queries()  # and what DEBUG logged for the earlier loops is forgotten, as a worker's task does
            close_old_connections()
        try:
            while (number := take()) is not None:
                one(number)
        except BaseException as exc:  # an interruption (parked, lost, cancel) or a bug: stop the others
            with lock:
                stop.append(exc)

    helpers = [
        _pool.submit(contextvars.copy_context().run, work, True)
        for _ in range(min(step["concurrency"], len(batches)) - 1)
    ]
    work(False)
    wait(helpers)
    if stop:
        raise stop[0]
    if failures and not step["continue_on_error"]:
        first = min(failures)
        error = StepFailed(f"Item {first * step['batch_size']} failed: {results[first]['error']}")
        error.partial_output = {"items": results}
        raise error
    if failures:
        call.note = f"{len(failures)} of {len(batches)} items failed; the loop went on (continue on error)."
    elif uneven:
        call.note = f"{len(uneven)} of {len(batches)} items had a step whose error was ignored (Ignore Errors)."
    return results


def close_pool_connections() -> None:
    """Close the database connection of every pool thread (a process shutting down, a test run ending).

    A barrier makes each task wait for the others, so every thread of the pool takes exactly one.
    """
    size = _pool._max_workers
    barrier = threading.Barrier(size, timeout=5)

    def close() -> None:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        connections.close_all()

    wait([_pool.submit(close) for _ in range(size)])
