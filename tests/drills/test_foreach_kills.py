"""Fault drill: a for-each over 200 items, 4 at a time, whose worker is killed with SIGKILL mid-loop.

Each item's body is one SQL step that inserts the item's row into an external PostgreSQL table
(after a short sleep, so the kills land inside the loop). After the kills a fresh worker takes the
executions over; each must end succeeded with every item's step recorded as succeeded exactly once,
and no row may be written after its item's step was recorded (a finished item never runs again).

The at-least-once boundary: an item whose INSERT committed but whose StepRun was not yet recorded
when the worker died (or whose statement the database finished after the worker's connection was
gone) runs again on the next delivery, so its row is there twice. At most the items in flight (the
concurrency) per execution per kill can be caught that way; the drill counts them (a run printed
12 of the 16 possible with 2 kills, 2 executions, concurrency 4).
"""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from flows.models import Execution, StepRun
from tests.drills.support import wait_all_final
from tests.flows.builders import graph, sql
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ITEMS = 200
CONCURRENCY = 4
EXECUTIONS = 2
KILLS = 2  # a third kill of the same execution would meet the engine's poison guard (3 deliveries)


@pytest.fixture
def item_rows(postgres_url):
    """A table in an external PostgreSQL where each body run leaves its item's row."""
    table = f"foreach_rows_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (execution_id int, item int, at timestamptz)")
    yield table
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE {table}")


def loop_flow(publish, connector, table: str):
    insert = (
        f"INSERT INTO {table} (execution_id, item, at) "
        "SELECT {{ execution.id }}, {{ index }}, clock_timestamp() FROM pg_sleep(0.02) RETURNING item"
    )
    return publish(
        graph(
            [
                {
                    "id": "loop",
                    "kind": "foreach",
                    "name": "loop",
                    "items": "trigger.payload.orders",
                    "concurrency": CONCURRENCY,
                    "position": {"x": 0, "y": 0},
                },
                sql("insert", connector, insert, group="loop", timeout_ms=10000),
            ]
        )
    )


def body_records(ids: list[int]) -> int:
    return StepRun.objects.filter(execution_id__in=ids, step_id="insert").count()


def test_killing_the_worker_inside_a_for_each_never_reruns_a_finished_item(
    publish, start, workers, item_rows, make_connector, postgres_url, sandbox
):
    connector = make_connector("postgres", postgres_url, [sandbox], name="Orders")
    version = loop_flow(publish, connector, item_rows)
    ids = [start(version, {"orders": list(range(ITEMS))}).pk for _ in range(EXECUTIONS)]
    for pk in ids:
        workers.enqueue(pk)
    workers.start_beat()  # the stranded sweep sends again a message the broker lost in a kill
    diagnose = lambda: f"worker logs:\n{workers.logs()[-4000:]}"  # noqa: E731
    began = time.monotonic()
    for kill in range(KILLS):
        worker = workers.start(concurrency=EXECUTIONS)
        before = body_records(ids)
        # mid-loop: more items recorded since this worker started, the loops not done
        wait_until(lambda before=before: body_records(ids) >= before + 10, 60, message=f"items before kill {kill + 1}")
        in_flight = Execution.objects.filter(pk__in=ids, status=Execution.Status.RUNNING).exists()
        assert in_flight and body_records(ids) < ITEMS * EXECUTIONS, "the kill must land inside a loop"
        workers.kill(worker)
    workers.start(concurrency=EXECUTIONS)
    recovery = wait_all_final(ids, 120, diagnose)

    with psycopg.connect(postgres_url) as db:
        rows = db.execute(f"SELECT execution_id, item, at FROM {item_rows}").fetchall()  # noqa: S608
    written: dict[tuple[int, int], list] = {}
    for execution_id, item, at in rows:
        written.setdefault((execution_id, item), []).append(at)
    executions = {e.pk: e for e in Execution.objects.filter(pk__in=ids)}
    records = list(StepRun.objects.filter(execution_id__in=ids, step_id="insert"))
    succeeded: dict[tuple[int, int], list[StepRun]] = {}
    for record in records:
        if record.status == StepRun.Status.SUCCEEDED:
            succeeded.setdefault((record.execution_id, record.item), []).append(record)
    rerun_finished = [
        key for key, runs in succeeded.items() if any(at > runs[0].finished for at in written.get(key, []))
    ]
    twice = {key: len(ats) for key, ats in written.items() if len(ats) > 1}
    deliveries = {pk: e.attempts for pk, e in executions.items()}
    print(
        f"\n[drill] SIGKILL x{KILLS} inside a for-each of {ITEMS} items x{EXECUTIONS} (concurrency {CONCURRENCY}): "
        f"statuses={sorted(e.status for e in executions.values())} deliveries={sorted(deliveries.values())} "
        f"rows={len(rows)} items-written-twice={len(twice)} finished-items-rerun={len(rerun_finished)} "
        f"total={time.monotonic() - began:.1f}s recovery={recovery:.1f}s",
        flush=True,
    )

    assert all(e.status == Execution.Status.SUCCEEDED for e in executions.values()), (
        [(e.pk, e.status, e.error[:300]) for e in executions.values()],
        diagnose(),
    )
    assert max(deliveries.values()) > 1, "some execution was interrupted and resumed"
    for pk in ids:
        assert sorted(r.item for r in records if r.execution_id == pk and r.status == "succeeded") == list(
            range(ITEMS)
        ), f"execution {pk}: every item's step recorded as succeeded exactly once"
        loop = StepRun.objects.get(execution_id=pk, step_id="loop", scope="")
        assert loop.status == StepRun.Status.SUCCEEDED
        assert [out["rows"][0]["item"] for out in loop.output] == list(range(ITEMS)), "the items' outputs, in order"
    assert not [key for key in succeeded if key not in written], "an item recorded as done wrote its row"
    assert not rerun_finished, f"items run again after their step was recorded: {rerun_finished[:10]}"
    # the at-least-once boundary: only items in flight at a kill may have run twice
    assert len(twice) <= KILLS * CONCURRENCY * EXECUTIONS, twice
    assert "recorded by another delivery" not in workers.logs()
