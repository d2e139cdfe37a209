"""What keeps a worker's memory flat from one execution to the next (bench/soak.py measures it)."""

from __future__ import annotations

import contextlib
import threading

import pytest
from celery.signals import task_prerun
from django.db import connection

from flows import engine, items
from flows.models import Execution
from flows.tasks import run_execution
from tests.flows.builders import graph


@pytest.mark.django_db(transaction=True)
def test_a_task_starts_without_the_queries_logged_under_debug_before_it(settings):
    """Under DEBUG Django logs every query of a connection (each step record with its output) until a
    request starts; a worker serves no requests, so its tasks must clear the log themselves."""
    settings.DEBUG = True
    for _ in range(3):
        Execution.objects.count()
    assert len(connection.queries_log) >= 3

    task_prerun.send(sender=run_execution, task_id="next", task=run_execution, args=(1,), kwargs={})

    assert len(connection.queries_log) == 0


def pool_query_logs() -> list[int]:
    """How many queries each thread of the for-each pool has logged; a barrier sends one task to each,
    straight to the executor (the pool's own ``submit`` would first forget the log it measures)."""
    size = items._pool.size
    barrier = threading.Barrier(size, timeout=5)

    def logged() -> int:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        return len(connection.queries_log)

    return [future.result() for future in [items._pool.executor.submit(logged) for _ in range(size)]]


@pytest.mark.django_db(transaction=True)  # items in flight use connections of their own threads
def test_a_for_each_helper_thread_keeps_no_more_than_its_last_loops_queries_under_debug(settings, publish, start):
    """The pool's threads outlive every task; under DEBUG each loop would add its body's step records
    (outputs included) to their connections' logs, up to 9,000 queries per thread. The body's step
    is not pure (a pause), so its record is written by the helper thread at once."""
    settings.DEBUG = True
    loop = {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.rows", "concurrency": 2}
    pause = {
        "id": "pause",
        "kind": "delay",
        "name": "pause",
        "delay_ms": 0,
        "group": "loop",
        "position": {"x": 0, "y": 1},
    }
    version = publish(graph([loop, pause]))
    rows = list(range(20))  # one step record per item: a loop logs at most 20 queries in a helper
    busiest = []
    for _ in range(10):
        execution = engine.run(start(version, {"rows": rows}).pk)
        assert execution.status == Execution.Status.SUCCEEDED, execution.error
        busiest.append(max(pool_query_logs()))

    assert max(busiest) > 0, "a helper thread ran items and logged their step records"
    assert max(busiest) <= len(rows), f"helper threads kept the queries of earlier loops: {busiest}"
