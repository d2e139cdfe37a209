"""The stranded-execution sweep: what the broker lost is found in the database and sent again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from flows import engine, leases, stranded
from flows.models import Execution
from flows.tasks import run_execution
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(publish):
    return publish(graph([mapping("a", '"done"')]))


@pytest.fixture
def sent(monkeypatch):
    """What the sweep hands to the broker (the queue the workers read is checked too)."""
    calls = []
    monkeypatch.setattr(run_execution, "apply_async", lambda args, queue: calls.append((args[0], queue)))
    return calls


def aged(execution, seconds: float, **fields) -> Execution:
    moment = timezone.now() - timedelta(seconds=seconds)
    Execution.objects.filter(pk=execution.pk).update(created=moment, **fields)
    return execution


def test_the_sweep_sends_again_what_waited_too_long_or_lost_its_worker(version, start, sent, settings):
    settings.ERPFLOW_EXECUTION_STRANDED_SECONDS = 60
    settings.ERPFLOW_EXECUTION_QUEUE = "executions"
    stale = timezone.now() - timedelta(seconds=leases.lease_seconds() + 5)
    waiting = aged(start(version), 120)
    orphaned = aged(start(version), 120, status="running", heartbeat=stale)
    aged(start(version), 10)  # queued a moment ago: its message is still on its way
    aged(start(version), 120, status="running", heartbeat=timezone.now())  # its worker is alive
    aged(start(version), 120, status="succeeded")
    aged(start(version), 120, resent=timezone.now() - timedelta(seconds=30))  # sent again lately

    assert stranded.resend(run_execution) == 2
    assert sorted(sent) == sorted([(waiting.pk, "executions"), (orphaned.pk, "executions")])
    assert stranded.resend(run_execution) == 0, "sent again once per period, not on every sweep"


def test_a_resent_execution_runs_once_even_when_its_first_message_turns_up(version, start, sent, settings):
    settings.ERPFLOW_EXECUTION_STRANDED_SECONDS = 1
    execution = aged(start(version), 5)
    stranded.resend(run_execution)
    first = engine.run(execution.pk)
    again = engine.run(execution.pk)
    assert first.status == again.status == "succeeded"
    assert Execution.objects.get(pk=execution.pk).attempts == 1
    assert execution.steps.count() == 1


def test_a_broker_refusing_keeps_the_execution_for_the_next_sweep(version, start, monkeypatch, settings):
    settings.ERPFLOW_EXECUTION_STRANDED_SECONDS = 1
    execution = aged(start(version), 5)

    def down(args, queue):
        raise ConnectionError("broker down")

    monkeypatch.setattr(run_execution, "apply_async", down)
    assert stranded.resend(run_execution) == 0
    kept = Execution.objects.get(pk=execution.pk)
    assert (kept.status, kept.resent) == ("queued", None)
    assert stranded.stranded().filter(pk=execution.pk).exists()
