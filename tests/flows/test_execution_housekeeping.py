"""The beat jobs (vanished-worker watchdog, retention) and waking a waiting trigger."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from config import redis_client
from config.celery import app
from flows import engine, notify, tasks, versions
from flows.models import Execution, FlowVersion, StepRun
from tests.flows.builders import graph, mapping


@pytest.fixture
def version(publish):
    return publish(graph([mapping("a", "1")]))


def age(execution, **delta) -> None:
    Execution.objects.filter(pk=execution.pk).update(created=timezone.now() - timedelta(**delta))


def test_the_watchdog_fails_executions_whose_worker_stopped_beating(version, start, settings):
    settings.ERPFLOW_EXECUTION_VANISHED_SECONDS = 60
    old = timezone.now() - timedelta(seconds=61)
    vanished, cancelled, alive, queued = (start(version) for _ in range(4))
    Execution.objects.filter(pk__in=[vanished.pk, cancelled.pk]).update(status="running", heartbeat=old)
    Execution.objects.filter(pk=cancelled.pk).update(cancel_requested=True)
    Execution.objects.filter(pk=alive.pk).update(status="running", heartbeat=timezone.now())
    StepRun.objects.create(
        execution=vanished,
        position=0,
        step_id="a",
        name="a",
        status="succeeded",
        started=old,
        finished=old,
        duration_ms=1,
    )

    assert tasks.fail_vanished() == 2

    vanished.refresh_from_db()
    assert vanished.status == Execution.Status.FAILED
    assert vanished.error.startswith("The worker running this execution stopped sending heartbeats for more than 60 s")
    assert vanished.finished is not None
    assert StepRun.objects.filter(execution=vanished).count() == 1, "finished steps are kept"
    assert Execution.objects.get(pk=cancelled.pk).status == Execution.Status.CANCELLED
    assert Execution.objects.get(pk=alive.pk).status == Execution.Status.RUNNING
    assert Execution.objects.get(pk=queued.pk).status == Execution.Status.QUEUED
    assert tasks.fail_vanished() == 0


def test_retention_deletes_old_finished_executions_in_batches(version, start, monkeypatch, settings):
    settings.ERPFLOW_EXECUTION_RETENTION_DAYS = 14
    monkeypatch.setattr(tasks, "PRUNE_BATCH", 2)
    old = [engine.run(start(version).pk) for _ in range(5)]
    for execution in old:
        age(execution, days=15)
    recent = engine.run(start(version).pk)
    still_running = start(version)
    Execution.objects.filter(pk=still_running.pk).update(status="running")
    age(still_running, days=30)

    assert tasks.prune_executions() == 5

    assert set(Execution.objects.values_list("pk", flat=True)) == {recent.pk, still_running.pk}
    assert not StepRun.objects.filter(execution__in=[e.pk for e in old]).exists()


def test_retention_also_drops_old_snapshots_no_execution_uses(org, owner, start, publish):
    version = publish(graph([mapping("a", "1")]))
    flow = version.flow
    unused = versions.snapshot_draft(flow, owner)
    versions.save_draft(flow, graph([mapping("a", "2")]), owner)
    used = versions.snapshot_draft(flow, owner)
    start(used)
    FlowVersion.objects.filter(pk__in=[unused.pk, used.pk]).update(created=timezone.now() - timedelta(days=20))

    tasks.prune_executions()

    assert set(FlowVersion.objects.filter(flow=flow).values_list("pk", flat=True)) == {version.pk, used.pk}


@pytest.mark.django_db(transaction=True)
def test_make_runs_beat_schedules_the_watchdog_and_retention():
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    DatabaseScheduler(app=app, lazy=False)  # what `celery beat` with the configured scheduler does at start

    scheduled = dict(PeriodicTask.objects.filter(enabled=True).values_list("task", "interval__every"))
    assert scheduled["flows.tasks.fail_vanished"] == 60
    assert scheduled["flows.tasks.prune_executions"] == 3600
    app.loader.import_default_modules()
    assert {"flows.tasks.fail_vanished", "flows.tasks.prune_executions", "flows.tasks.run_execution"} <= set(app.tasks)


def test_the_run_task_runs_the_execution(version, start):
    execution = start(version)
    assert tasks.run_execution.run(execution.pk) == "succeeded"
    assert tasks.run_execution.run(999999) == "missing"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_redis", [True, False], ids=["redis", "polling"])
def test_a_waiter_wakes_when_the_execution_finishes(version, start, settings, monkeypatch, redis_url, with_redis):
    settings.REDIS_URL = redis_url if with_redis else None
    monkeypatch.setattr(redis_client, "_client", None)
    execution = start(version)

    def finish_later():
        time.sleep(0.3)
        engine.run(execution.pk)
        connection.close()

    threading.Thread(target=finish_later).start()
    began = time.monotonic()
    assert notify.wait_finished(execution.pk, 5) is True
    waited = time.monotonic() - began
    assert waited >= 0.25, "it waited for the execution to finish"
    assert Execution.objects.get(pk=execution.pk).status == Execution.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_a_waiter_gives_up_at_its_timeout(version, start, settings, monkeypatch, redis_url):
    settings.REDIS_URL = redis_url
    monkeypatch.setattr(redis_client, "_client", None)
    execution = start(version)
    began = time.monotonic()
    assert notify.wait_finished(execution.pk, 0.5) is False
    assert time.monotonic() - began >= 0.5, "it waited its timeout"
    assert notify.wait_finished(execution.pk, 0) is False
