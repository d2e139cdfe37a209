"""What a waiting caller gets from flows with respond steps, failures and pauses, on a real worker."""

from __future__ import annotations

import json
import time

import pytest

from flows.models import Execution, StepRun
from tests.api.conftest import FAILING
from tests.flows.builders import chain, graph, mapping
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORKER_ENV = {"ERPFLOW_INLINE_WAIT_SECONDS": "0"}  # every pause parks the execution


@pytest.fixture(autouse=True)
def _pauses_park(settings):
    """The same in this process, where a waited trigger runs its execution (``flows.eager``)."""
    settings.ERPFLOW_INLINE_WAIT_SECONDS = 0


SPIN = '{"n": $count($map([1..trigger.payload.n], function($v){ $v * 2 }))}'


def trigger(client, slug, body, query=""):
    return client.post(
        f"/api/v1/flows/{slug}/executions{query}", data=json.dumps(body), content_type="application/json"
    )


def test_a_respond_step_answers_the_caller_before_the_flow_ends(api, make_flow, sandbox, workers):
    respond = {
        "id": "r",
        "kind": "respond",
        "name": "Accept",
        "status": 201,
        "headers": {"X-Order": "{{ trigger.payload.id }}"},
        "body": '{"accepted": trigger.payload.id}',
    }
    slow = mapping("slow", SPIN, name="Slow", y=1, timeout_ms=60000)
    make_flow(graph([respond, slow], chain("r", "slow")), slug="accept", deploy=[sandbox])
    response = trigger(api, "accept", {"environment": "sandbox", "payload": {"id": "SO-9", "n": 90000}, "wait": 30})
    assert response.status_code == 201, (response.content, workers.logs())
    assert response.json() == {"accepted": "SO-9"}
    assert response["X-Order"] == "SO-9" and response["X-Correlation-ID"]
    execution = Execution.objects.get(flow__slug="accept")
    assert not execution.is_final, "the caller was answered while the slow step still ran"
    wait_until(lambda: Execution.objects.get(pk=execution.pk).is_final, 60, message="the flow to end")


def test_fail_status_turns_a_failed_execution_into_that_http_status(api, make_flow, sandbox, workers):
    make_flow(FAILING, slug="checks", deploy=[sandbox])
    response = trigger(api, "checks", {"environment": "sandbox", "wait": 20, "fail_status": 502})
    assert response.status_code == 502, workers.logs()
    assert response.json()["status"] == "failed"
    by_query = trigger(api, "checks", {"environment": "sandbox", "wait": 20}, query="?fail_status=422")
    assert by_query.status_code == 422
    bad = trigger(api, "checks", {"environment": "sandbox", "wait": 20, "fail_status": 200})
    assert bad.status_code == 400 and "fail_status must be an HTTP status from 400 to 599" in bad.json()["detail"]


def test_a_parked_delay_frees_the_worker_and_the_execution_resumes_when_due(api, make_flow, sandbox, workers):
    pause = {"id": "d", "kind": "delay", "name": "Pause", "delay_ms": 1500}
    make_flow(
        graph([pause, mapping("after", '"resumed"', name="After", y=1)], chain("d", "after")),
        slug="pause",
        deploy=[sandbox],
    )
    begun = time.monotonic()
    response = trigger(api, "pause", {"environment": "sandbox", "wait": 20})
    assert response.status_code == 200, (response.json(), workers.logs())
    assert response.json()["status"] == "succeeded" and response.json()["output"] == "resumed"
    assert time.monotonic() - begun >= 1.5
    execution = Execution.objects.get(pk=response.json()["id"])
    assert execution.attempts == 1 and execution.resume_at is not None
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", "status")) == [
        ("d", "succeeded"),
        ("after", "succeeded"),
    ]
