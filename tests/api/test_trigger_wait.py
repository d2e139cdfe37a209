"""Triggers answered by a real Celery worker process: ``wait`` returns the outcome, ``wait=0`` does not block.

The worker runs against the test database and listens on a Redis queue of this module; the
trigger publishes there after its transaction commits, and learns of the end through
``flows.notify`` (Redis pub/sub), exactly as in production.
"""

from __future__ import annotations

import json
import time

import pytest

from flows.models import Execution, Schedule, StepRun
from tests.api.conftest import FAILING
from tests.flows.builders import chain, graph, mapping
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

URL = "/api/v1/flows/add-field/executions"
SPIN = '{"n": $count($map([1..trigger.payload.n], function($v){ $v * 2 }))}'
SLOW = graph(
    [mapping(f"s{i}", SPIN, name=f"Spin {i}", y=i, timeout_ms=60000) for i in range(4)], chain("s0", "s1", "s2", "s3")
)


def trigger(client, body, url=URL):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_wait_returns_the_finished_execution_with_output_and_step_summaries(api, deployed, workers):
    response = trigger(api, {"environment": "sandbox", "payload": {"order": 7}, "wait": 20})
    assert response.status_code == 200, (response.json(), workers.logs())
    body = response.json()
    assert body["status"] == "succeeded"
    assert body["output"] == {"order": 7, "seen": True}
    assert [(s["name"], s["status"]) for s in body["steps"]] == [("Add field", "succeeded")]
    assert body["steps"][0]["duration_ms"] >= 0
    record = StepRun.objects.get(execution_id=body["id"])
    assert record.output == {"order": 7, "seen": True}


def test_wait_returns_a_failed_execution_with_the_failing_step(api, make_flow, sandbox, workers):
    make_flow(FAILING, slug="checks", deploy=[sandbox])
    response = trigger(api, {"environment": "sandbox", "wait": 20}, url="/api/v1/flows/checks/executions")
    assert response.status_code == 200, workers.logs()
    body = response.json()
    assert body["status"] == "failed"
    assert "the order is incomplete" in body["error"]
    assert [(s["name"], s["status"]) for s in body["steps"]] == [("Fine", "succeeded"), ("Check order", "failed")]


def test_a_wait_shorter_than_the_flow_answers_202_and_the_execution_finishes_later(api, make_flow, sandbox, workers):
    make_flow(SLOW, slug="slow", deploy=[sandbox])
    started = time.monotonic()
    response = trigger(
        api, {"environment": "sandbox", "payload": {"n": 60000}, "wait": 1}, url="/api/v1/flows/slow/executions"
    )
    assert time.monotonic() - started >= 1, "it waited as asked"
    assert response.status_code == 202
    assert response.json()["status"] in ("queued", "running")
    execution = wait_until(
        lambda: Execution.objects.filter(pk=response.json()["id"], status="succeeded").first(),
        60,
        message="the slow execution to finish",
    )
    assert execution.steps.count() == 4
    assert api.get(response.json()["url"]).json()["status"] == "succeeded"


def test_wait_zero_answers_at_once_and_the_worker_runs_the_execution(api, deployed, workers):
    response = trigger(api, {"environment": "sandbox", "payload": {"n": 1}})
    assert response.status_code == 202
    execution = wait_until(
        lambda: Execution.objects.filter(pk=response.json()["id"], status="succeeded").first(),
        30,
        message="the worker to run the execution",
    )
    assert execution.output == {"n": 1, "seen": True}


def test_a_webhook_waits_for_the_result_too(api, deployed, workers):
    hook = api.post("/api/v1/webhooks/", {"flow": "add-field", "environment": "sandbox"}, format="json").json()
    path = hook["url"].split("testserver", 1)[1]
    response = api.post(path + "?wait=20", data=json.dumps({"order": 9}), content_type="application/json")
    assert response.status_code == 200, workers.logs()
    assert response.json()["output"] == {"order": 9, "seen": True}
    assert Execution.objects.get(pk=response.json()["id"]).trigger == "webhook"


def test_a_worker_runs_a_schedule_tick_sent_the_way_beat_sends_it(api, deployed, workers):
    from django_celery_beat.models import PeriodicTask

    from config.celery import app

    created = api.post(
        "/api/v1/schedules/",
        {"flow": "add-field", "environment": "sandbox", "cron": "@hourly", "payload": {"source": "beat"}},
        format="json",
    )
    task = PeriodicTask.objects.get(pk=Schedule.objects.get(pk=created.json()["id"]).periodic_task_id)
    app.send_task(task.task, args=json.loads(task.args), queue=workers.queue)
    execution = wait_until(
        lambda: Execution.objects.filter(trigger="schedule", status="succeeded").first(),
        30,
        message="the tick's execution to run",
    )
    assert execution.output == {"source": "beat", "seen": True}
