"""Redelivery, resume, poison executions, leases, cancel and heartbeats of the engine (in-process).

The same paths with real Celery worker processes killed mid-flow are in test_durability_workers.py.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from flows import engine, leases
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping

SLOW = '($x := $count($map([1..{n}], function($v){{ $v * 2 }})); {{"step": "{sid}", "spin": $x}})'


def slow(sid: str, n: int = 40000, **kwargs) -> dict:
    """A mapping step that keeps the CPU busy for a while (about 0.35 s for n=40000 on this machine)."""
    return mapping(sid, SLOW.format(n=n, sid=sid), timeout_ms=20000, **kwargs)


def crash_after(execution, keep: int, attempts: int = 1) -> None:
    """Make a finished execution look like its worker died after ``keep`` steps."""
    StepRun.objects.filter(execution=execution, position__gte=keep).delete()
    Execution.objects.filter(pk=execution.pk).update(
        status=Execution.Status.RUNNING,
        finished=None,
        output=None,
        attempts=attempts,
        heartbeat=timezone.now() - timedelta(seconds=leases.lease_seconds() + 1),
    )


def in_thread(work):
    """A thread body that closes its own database connection, so the test database can be dropped."""

    def body():
        try:
            work()
        finally:
            connection.close()

    return body


@pytest.fixture
def three_steps(publish):
    return publish(
        graph(
            [
                mapping("a", '{"n": trigger.payload.n}'),
                mapping("b", '{"n": steps.a.n * 2}', y=1),
                mapping("c", '{"n": steps.b.n + 1}', y=2),
            ],
            chain("a", "b", "c"),
        )
    )


def test_a_redelivered_execution_resumes_after_its_last_finished_step(three_steps, start):
    execution = engine.run(start(three_steps, {"n": 1}).pk)
    first = {r.step_id: r.pk for r in StepRun.objects.filter(execution=execution)}
    crash_after(execution, keep=1)
    StepRun.objects.filter(execution=execution, step_id="a").update(output={"n": 100})  # what the first delivery saw

    execution = engine.run(execution.pk)

    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.attempts == 2
    runs = {r.step_id: r for r in StepRun.objects.filter(execution=execution)}
    assert runs["a"].pk == first["a"] and runs["a"].delivery == 1, "the finished step was not run again"
    assert (runs["b"].delivery, runs["c"].delivery) == (2, 2)
    assert runs["b"].output == {"n": 200}, "later steps use the recorded output of the finished step"
    assert execution.output == {"n": 201}


def test_a_redelivery_after_the_failing_step_was_recorded_ends_failed_without_running_more(publish, start):
    version = publish(
        graph([mapping("a", "1"), mapping("b", '$error("no")', y=1), mapping("c", "3", y=2)], chain("a", "b", "c"))
    )
    execution = engine.run(start(version).pk)
    crash_after(execution, keep=2)
    execution = engine.run(execution.pk)
    assert execution.status == Execution.Status.FAILED
    assert execution.error == "Step 'b' failed: The mapping failed: no"
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", flat=True)) == ["a", "b"]


def test_an_execution_held_by_a_live_worker_is_left_alone(three_steps, start):
    execution = start(three_steps, {"n": 1})
    Execution.objects.filter(pk=execution.pk).update(
        status=Execution.Status.RUNNING, attempts=1, lease="someone", heartbeat=timezone.now()
    )
    result = engine.run(execution.pk)
    assert (result.status, result.attempts, result.lease) == (Execution.Status.RUNNING, 1, "someone")
    assert not StepRun.objects.filter(execution=execution).exists()


def test_a_final_execution_is_not_run_again(three_steps, start):
    execution = engine.run(start(three_steps, {"n": 1}).pk)
    finished = execution.finished
    again = engine.run(execution.pk)
    assert (again.status, again.attempts, again.finished) == (Execution.Status.SUCCEEDED, 1, finished)
    assert StepRun.objects.filter(execution=execution).count() == 3


def test_a_poison_execution_stops_after_three_deliveries_with_a_clear_error(three_steps, start):
    execution = engine.run(start(three_steps, {"n": 1}).pk)
    crash_after(execution, keep=1, attempts=engine.MAX_DELIVERIES)

    execution = engine.run(execution.pk)

    assert execution.status == Execution.Status.FAILED
    assert execution.attempts == engine.MAX_DELIVERIES + 1
    assert execution.error.startswith(
        "Stopped after 3 deliveries: each time, the worker running this execution stopped"
    )
    assert "the last finished step was 'a'" in execution.error
    assert StepRun.objects.filter(execution=execution).count() == 1, "nothing ran on the refused delivery"


def test_cancelling_a_queued_execution_ends_it_before_it_starts(three_steps, start):
    execution = start(three_steps, {"n": 1})
    assert engine.request_cancel(execution) is True
    assert execution.status == Execution.Status.CANCELLED
    assert engine.run(execution.pk).status == Execution.Status.CANCELLED
    assert not StepRun.objects.filter(execution=execution).exists()
    assert engine.request_cancel(execution) is False, "a final execution cannot be cancelled"


def test_a_cancel_request_is_honoured_before_the_next_step(three_steps, start):
    execution = engine.run(start(three_steps, {"n": 1}).pk)
    crash_after(execution, keep=1)
    Execution.objects.filter(pk=execution.pk).update(cancel_requested=True)

    execution = engine.run(execution.pk)

    assert execution.status == Execution.Status.CANCELLED
    assert execution.error == "Cancelled on request before step 'b'."
    assert [(r.step_id, r.status) for r in StepRun.objects.filter(execution=execution)] == [
        ("a", "succeeded"),
        ("b", "skipped"),
        ("c", "skipped"),
    ]


def test_secrets_are_masked_in_everything_recorded(publish, start, secret_var):
    version = publish(
        graph(
            [
                mapping("a", '{"key": env.API_KEY, "len": $length(env.API_KEY)}'),
                mapping("b", '$error("rejected key " & env.API_KEY)', y=1),
            ],
            chain("a", "b"),
        )
    )
    execution = engine.run(start(version).pk)
    a, b = StepRun.objects.filter(execution=execution)
    assert a.output == {"key": "••••••••", "len": 13}
    assert b.error == "The mapping failed: rejected key ••••••••"
    assert secret_var not in execution.error
    assert secret_var not in str(list(StepRun.objects.filter(execution=execution).values()))


def test_a_large_output_is_capped_with_a_marker_but_later_steps_see_all_of_it(publish, start, settings):
    settings.ERPFLOW_STEP_OUTPUT_MAX_BYTES = 2048
    version = publish(
        graph([mapping("a", '[1..2000].{"i": $}'), mapping("b", "$count(steps.a)", y=1)], chain("a", "b"))
    )
    execution = engine.run(start(version).pk)
    a, b = StepRun.objects.filter(execution=execution)
    assert a.output_truncated is True
    assert a.output["truncated"] is True and a.output["size_bytes"] > 2048 and a.output["limit_bytes"] == 2048
    assert len(a.output["preview"]) <= 1024
    assert (b.output, b.output_truncated) == (2000, False)


@pytest.mark.django_db(transaction=True)
def test_cancel_from_another_thread_stops_a_running_execution_between_steps(publish, start):
    version = publish(graph([slow(f"s{i}", y=i) for i in range(8)], chain(*[f"s{i}" for i in range(8)])))
    execution = start(version)
    result = {}

    worker = threading.Thread(target=in_thread(lambda: result.setdefault("execution", engine.run(execution.pk))))
    worker.start()
    deadline = time.monotonic() + 10
    while not StepRun.objects.filter(execution=execution).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert engine.request_cancel(execution) is True
    worker.join(20)

    execution.refresh_from_db()
    statuses = [r.status for r in StepRun.objects.filter(execution=execution)]
    assert execution.status == Execution.Status.CANCELLED
    assert len(statuses) == 8
    ran = statuses.count("succeeded")
    assert 1 <= ran <= 3, statuses
    assert statuses == ["succeeded"] * ran + ["skipped"] * (8 - ran)


@pytest.mark.django_db(transaction=True)
def test_a_delivery_that_lost_its_lease_stops_without_touching_the_outcome(publish, start):
    version = publish(graph([slow("a", n=60000), mapping("b", "2", y=1)], chain("a", "b")))
    execution = start(version)
    result = {}
    worker = threading.Thread(target=in_thread(lambda: result.setdefault("execution", engine.run(execution.pk))))
    worker.start()
    deadline = time.monotonic() + 10
    while Execution.objects.get(pk=execution.pk).status != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    Execution.objects.filter(pk=execution.pk).update(lease="a-newer-delivery")
    worker.join(20)

    execution.refresh_from_db()
    assert (execution.status, execution.lease) == (Execution.Status.RUNNING, "a-newer-delivery")
    assert execution.finished is None
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", flat=True)) == ["a"]


@pytest.mark.django_db(transaction=True)
def test_a_running_execution_keeps_its_heartbeat_fresh(publish, start, settings):
    settings.ERPFLOW_EXECUTION_HEARTBEAT_SECONDS = 1
    version = publish(graph([slow(f"s{i}", y=i) for i in range(6)], chain(*[f"s{i}" for i in range(6)])))
    execution = start(version)
    beats = set()
    worker = threading.Thread(target=in_thread(lambda: engine.run(execution.pk)))
    worker.start()
    while worker.is_alive():
        row = Execution.objects.filter(pk=execution.pk).values("status", "heartbeat").first()
        if row["status"] == "running":
            beats.add(row["heartbeat"])
        time.sleep(0.1)
    worker.join()
    assert Execution.objects.get(pk=execution.pk).status == Execution.Status.SUCCEEDED
    assert len(beats) >= 2, "the heartbeat moved while the steps ran"
