"""Fault drill: real Celery worker processes killed with SIGKILL in the middle of flows.

Every execution must end in a final state (none lost), no step that finished may run again, a
redelivered execution resumes after its last finished step, and a poison execution (one whose
worker dies on every delivery) stops after three deliveries with a clear error.
"""

from __future__ import annotations

import random
import time

import pytest

from flows import engine
from flows.models import Execution, StepRun
from tests.drills.support import effect_flow, figures, wait_all_final
from tests.flows.builders import chain, graph, mapping
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.drill, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# Runs far longer than a delivery survives: 2,000,000 calls, in ranges within the range budget of 100,000 items.
FOREVER = "$count($map([1..100000], function($v){ $map([1..20], function($w){ $w * 2 }) }))"


def test_killing_the_worker_ten_times_mid_flow_loses_nothing_and_reruns_no_finished_step(
    publish, start, workers, effects, make_connector, postgres_url, sandbox
):
    connector = make_connector("postgres", postgres_url, [sandbox], name="Effects")
    version = effect_flow(publish, connector, effects)
    ids = [start(version, {"n": i}).pk for i in range(30)]
    for pk in ids:
        workers.enqueue(pk)
    # Beat runs the stranded-execution sweep: a message the broker loses in a kill (Redis transport:
    # taken from the queue, not yet recorded as unacknowledged) is sent again from the database.
    workers.start_beat()
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
    diagnose = lambda: f"worker logs:\n{workers.logs()[-4000:]}"  # noqa: E731
    drained = wait_all_final(ids, 180, diagnose)

    outcome = figures(ids, effects, postgres_url)
    sent_again = Execution.objects.filter(pk__in=ids, resent__isnull=False).count()
    outcome.print(f"SIGKILL a worker x10 ({sent_again} sent again by the stranded sweep)", recovery=drained)
    assert kills == 10
    outcome.assert_clean(diagnose)
    assert outcome.resumed, "some executions were interrupted and resumed after their last finished step"
    assert "recorded by another delivery" not in workers.logs()


def test_a_poison_execution_stops_after_three_deliveries(publish, start, workers):
    version = publish(
        graph(
            [
                mapping("a", '"first"'),
                mapping("b", FOREVER, y=1, timeout_ms=60000),
            ],
            chain("a", "b"),
        )
    )
    execution = start(version)
    workers.enqueue(execution.pk)
    diagnose = lambda: f"worker logs:\n{workers.logs()[-4000:]}"  # noqa: E731
    for delivery in range(1, engine.MAX_DELIVERIES + 1):
        worker = workers.start(concurrency=1)
        try:
            wait_until(
                lambda delivery=delivery: (
                    Execution.objects.filter(pk=execution.pk, attempts=delivery, status="running").exists()
                    and StepRun.objects.filter(execution=execution, step_id="a").exists()
                ),
                60,
                message=f"delivery {delivery} to start",
            )
        except AssertionError as late:
            raise AssertionError(f"{late}\n{diagnose()}") from None
        time.sleep(0.3)
        workers.kill(worker)
    workers.start(concurrency=1)
    wait_all_final([execution.pk], 90, diagnose)

    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    assert execution.attempts == engine.MAX_DELIVERIES + 1
    assert execution.error.startswith(
        "Stopped after 3 deliveries: each time, the worker running this execution stopped"
    )
    assert "the last finished step was 'a'" in execution.error
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", "delivery")) == [("a", 1)]


def test_an_execution_whose_message_the_broker_lost_is_run_by_the_sweep(publish, start, workers):
    """No message is ever sent for this execution, as when a worker dies between taking a message
    from Redis and recording it as unacknowledged; beat's sweep finds it in the database."""
    version = publish(graph([mapping("a", '"found"')]))
    lost = start(version)
    workers.start(concurrency=1)
    workers.start_beat()
    diagnose = lambda: f"worker and beat logs:\n{workers.logs()[-4000:]}"  # noqa: E731
    wait_all_final([lost.pk], 60, diagnose)
    lost.refresh_from_db()
    assert (lost.status, lost.output, lost.attempts) == ("succeeded", "found", 1), diagnose()
    assert lost.resent is not None
