"""Durability with real Celery worker processes killed with SIGKILL in the middle of flows.

Every execution must end in a final state (none lost), no step that finished may run again, a
redelivered execution resumes after its last finished step, and a poison execution (one whose
worker dies on every delivery) stops after three deliveries with a clear error.
"""

from __future__ import annotations

import random
import time
import uuid

import psycopg
import pytest

from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping, sql
from tests.flows.workers import Workers, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SPIN = '($x := $count($map([1..{n}], function($v){{ $v * 2 }})); {{"step": "{sid}", "spin": $x, "input": {prev}}})'
STEPS = 6
SQL_STEPS = ("s1", "s3", "s5")


@pytest.fixture
def effects(postgres_url):
    """A table in an external PostgreSQL where each SQL step leaves a row every time it really runs."""
    table = f"effects_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (execution_id int, step_id text, input text, at timestamptz)")
    yield table
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE {table}")


def effect_flow(publish, connector, table: str, n: int = 15000):
    """Mapping steps that keep a worker busy for a moment, alternating with SQL steps that leave a trace.

    Every step uses the output of the one before it, so a resumed execution must feed later steps
    the recorded outputs of the steps finished before the interruption.
    """
    steps = []
    for i in range(STEPS):
        sid = f"s{i}"
        if sid in SQL_STEPS:
            statement = (
                f"INSERT INTO {table} (execution_id, step_id, input, at) "
                f"VALUES ({{{{ execution.id }}}}, '{sid}', {{{{ steps.s{i - 1}.step }}}}, clock_timestamp()) "
                f"RETURNING '{sid}' AS step"
            )
            steps.append(sql(sid, connector, statement, timeout_ms=10000, position={"x": 0, "y": i}))
        else:
            prev = f"steps.s{i - 1}.rows[0].step" if i else "trigger.payload.n"
            steps.append(mapping(sid, SPIN.format(n=n, sid=sid, prev=prev), y=i, timeout_ms=60000))
    return publish(graph(steps, chain(*[f"s{i}" for i in range(STEPS)])))


@pytest.fixture
def workers(redis_url, tmp_path):
    pool = Workers(redis_url, tmp_path)
    yield pool
    pool.close()


def test_killing_the_worker_ten_times_mid_flow_loses_nothing_and_reruns_no_finished_step(
    publish, start, workers, effects, make_connector, postgres_url, sandbox
):
    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects")
    version = effect_flow(publish, connector, effects)
    executions = [start(version, {"n": i}) for i in range(30)]
    for execution in executions:
        workers.enqueue(execution.pk)
    rng = random.Random(4)
    kills = 0
    for _ in range(10):
        before = StepRun.objects.count()
        worker = workers.start()
        wait_until(lambda before=before: StepRun.objects.count() > before, 60, message="a step to finish")
        time.sleep(rng.uniform(0.05, 0.4))
        assert Execution.objects.filter(status="running").exists(), "the kill must land in the middle of a flow"
        workers.kill(worker)
        kills += 1
    workers.start()
    try:
        wait_until(
            lambda: not Execution.objects.exclude(status__in=Execution.FINAL).exists(),
            180,
            interval=0.5,
            message="every execution to reach a final state",
        )
    except AssertionError as stuck:
        left = list(
            Execution.objects.exclude(status__in=Execution.FINAL).values("pk", "status", "attempts", "heartbeat")
        )
        raise AssertionError(f"{stuck}; not final: {left}; worker logs:\n{workers.logs()[-4000:]}") from None

    assert kills == 10
    finished = list(Execution.objects.filter(pk__in=[e.pk for e in executions]))
    assert len(finished) == 30, "no execution was lost"
    for execution in finished:
        runs = list(StepRun.objects.filter(execution=execution).order_by("position"))
        if execution.attempts <= engine.MAX_DELIVERIES:
            assert execution.status == Execution.Status.SUCCEEDED, (execution.pk, execution.status, execution.error)
            assert [r.step_id for r in runs] == [f"s{i}" for i in range(STEPS)]
            assert execution.output["rows"] == [{"step": f"s{STEPS - 1}"}]
            # each mapping carries its predecessor's output, so a resumed flow used the recorded outputs
            assert [r.output["input"] for r in runs[2::2]] == [f"s{i}" for i in range(1, STEPS - 1, 2)]
        else:
            assert execution.status == Execution.Status.FAILED
            assert execution.error.startswith("Stopped after 3 deliveries")
        attempts = [r.attempt for r in runs]
        assert attempts == sorted(attempts), "a later delivery only ran steps after those already recorded"
    resumed = [e for e in finished if e.attempts > 1 and e.status == Execution.Status.SUCCEEDED]
    assert resumed, "some executions were interrupted and resumed"
    assert any(len({r.attempt for r in StepRun.objects.filter(execution=e)}) > 1 for e in resumed)
    assert "recorded by another delivery" not in workers.logs()
    # the external proof: no SQL step left a trace after its StepRun was recorded
    finished_at = {
        (r.execution_id, r.step_id): r.finished
        for r in StepRun.objects.filter(step_id__in=SQL_STEPS, execution__in=finished)
    }
    with psycopg.connect(postgres_url) as db:
        traces = db.execute(f"SELECT execution_id, step_id, at FROM {effects}").fetchall()
    assert {(e, s) for e, s, _ in traces} >= set(finished_at), "every recorded SQL step left its trace"
    rerun = [(e, s) for e, s, at in traces if (e, s) in finished_at and at > finished_at[(e, s)]]
    assert rerun == [], "a finished step was run a second time"


def test_a_poison_execution_stops_after_three_deliveries(publish, start, workers):
    version = publish(
        graph(
            [
                mapping("a", '"first"'),
                mapping("b", SPIN.format(n=2_000_000, sid="b", prev='"x"'), y=1, timeout_ms=60000),
            ],
            chain("a", "b"),
        )
    )
    execution = start(version)
    workers.enqueue(execution.pk)
    for delivery in range(1, engine.MAX_DELIVERIES + 1):
        worker = workers.start(concurrency=1)
        wait_until(
            lambda delivery=delivery: (
                Execution.objects.filter(pk=execution.pk, attempts=delivery, status="running").exists()
                and StepRun.objects.filter(execution=execution, step_id="a").exists()
            ),
            60,
            message=f"delivery {delivery} to start",
        )
        time.sleep(0.3)
        workers.kill(worker)
    workers.start(concurrency=1)
    wait_until(lambda: Execution.objects.get(pk=execution.pk).is_final, 60, interval=0.2, message="the fourth delivery")

    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    assert execution.attempts == engine.MAX_DELIVERIES + 1
    assert execution.error.startswith(
        "Stopped after 3 deliveries: each time, the worker running this execution stopped"
    )
    assert "the last finished step was 'a'" in execution.error
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", "attempt")) == [("a", 1)]
