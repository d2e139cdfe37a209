"""``flows.tasks.run_executions``: several executions in one message, each run as ``run_execution`` runs it.

What the message leaves to a retry is asserted through the task's ``retry`` (recorded, not sent):
the ones another delivery holds, and after a lost database connection the current one and those
after it. Killing a real worker in the middle of such a message is ``tests/drills/test_batch_kills.py``.
"""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.utils import timezone

from flows import engine, tasks
from flows.models import Execution, StepRun
from flows.tasks import run_executions
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


class Retried(Exception):  # noqa: N818 - stands for Celery's Retry
    pass


@pytest.fixture
def retries(monkeypatch):
    """The ``args`` of every retry the task asks for; the retry itself is not sent."""
    asked: list[list[int]] = []

    def retry(*, args=None, exc=None, countdown=None):
        asked.append(list(args[0]))
        return Retried()

    monkeypatch.setattr(run_executions, "retry", retry)
    return asked


@pytest.fixture
def version(publish):
    return publish(graph([mapping("one", "trigger.payload.n + 1")]))


def test_each_execution_of_the_message_runs_once_and_a_second_delivery_runs_no_step_again(version, start):
    ids = [start(version, {"n": n}).pk for n in range(3)]
    assert run_executions.run(ids + [999999]) == "4 delivered"
    assert [Execution.objects.get(pk=pk).output for pk in ids] == [1, 2, 3]
    assert set(Execution.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"succeeded"}
    run_executions.run(ids)  # the broker delivers the message again (the worker died before acknowledging it)
    assert StepRun.objects.filter(execution_id__in=ids).count() == 3
    assert set(Execution.objects.filter(pk__in=ids).values_list("attempts", flat=True)) == {1}


def test_one_held_by_another_delivery_comes_back_alone_after_the_others_ran(version, start, retries):
    first, held, last = (start(version, {"n": n}) for n in range(3))
    Execution.objects.filter(pk=held.pk).update(status="running", lease="other", heartbeat=timezone.now())
    with pytest.raises(Retried):
        run_executions.run([first.pk, held.pk, last.pk])
    assert retries == [[held.pk]]
    assert Execution.objects.get(pk=first.pk).status == Execution.objects.get(pk=last.pk).status == "succeeded"
    assert not StepRun.objects.filter(execution=held).exists()


def test_a_lost_database_connection_leaves_the_current_one_and_the_rest_to_the_retry(
    version, start, retries, monkeypatch
):
    ran, lost, after = (start(version, {"n": n}).pk for n in range(3))
    real = engine.run

    def run(execution_id, **kwargs):
        if execution_id == lost:
            raise OperationalError("server closed the connection unexpectedly")
        return real(execution_id, **kwargs)

    monkeypatch.setattr(tasks.engine, "run", run)
    with pytest.raises(Retried):
        run_executions.run([ran, lost, after])
    assert retries == [[lost, after]]
    assert Execution.objects.get(pk=ran).status == "succeeded"
    assert Execution.objects.get(pk=after).status == "queued"
