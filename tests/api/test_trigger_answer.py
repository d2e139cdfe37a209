"""A waited trigger that ran its execution in the web process answers from what the engine handed back
(``flows.outcomes.result``) instead of reading the execution's steps again and serializing them
through DRF: the answer must stay exactly what ``ExecutionResultSerializer`` makes of the stored rows."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIRequestFactory

from flows import outcomes
from flows.execution_serializers import ExecutionResultSerializer
from flows.models import Execution
from tests.api.conftest import FAILING, TWO_STEPS
from tests.flows.builders import chain, graph, mapping

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

IGNORED = graph(
    [
        mapping("ok", '{"a": 1}', name="Fine", y=0),
        mapping("boom", '$error("no stock for " & trigger.payload.sku)', name="Stock", ignore=True, y=1),
        mapping("after", '{"b": steps.Fine.a + 1}', name="After", y=2),
    ],
    chain("ok", "boom", "after"),
)


def stored_answer(response) -> dict:
    """What the serializer makes of the execution the answer names, read back from the database."""
    execution = Execution.objects.get(pk=response.json()["id"])
    request = APIRequestFactory().get("/", HTTP_HOST="testserver")
    return json.loads(json.dumps(ExecutionResultSerializer(execution, context={"request": request}).data))


@pytest.mark.parametrize(
    ("graph_", "payload", "status"),
    [
        (TWO_STEPS, {"customer": "Ada", "qty": [1, 2]}, "succeeded"),
        (IGNORED, {"sku": "A-1"}, "completed_with_errors"),
        (FAILING, {}, "failed"),
    ],
    ids=["succeeded", "error-ignored", "failed"],
)
def test_the_answer_built_in_memory_equals_the_serialized_execution(api, make_flow, sandbox, graph_, payload, status):
    flow = make_flow(graph_, slug="answer", deploy=[sandbox])
    body = {"environment": "sandbox", "payload": payload, "wait": 10, "correlation_id": "corr-1"}
    response = api.post(f"/api/v1/flows/{flow.slug}/executions", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == status
    assert answer["steps"], "the answer lists the steps"
    assert answer == stored_answer(response)


def test_only_an_execution_run_here_is_answered_from_memory(api, make_flow, sandbox, monkeypatch):
    """A deduplicated trigger answers with the first execution, read back: the same answer."""
    calls, built = [], outcomes.result
    monkeypatch.setattr(outcomes, "result", lambda *args: calls.append(args) or built(*args))
    flow = make_flow(TWO_STEPS, slug="answer", deploy=[sandbox])
    body = {"environment": "sandbox", "payload": {"customer": "Ada", "qty": [1]}, "wait": 10}

    response = api.post(f"/api/v1/flows/{flow.slug}/executions", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 200 and len(calls) == 1  # it ended here: built in memory, once
    dedup = {**body, "deduplication_id": "once"}
    first = api.post(f"/api/v1/flows/{flow.slug}/executions", data=json.dumps(dedup), content_type="application/json")
    replayed = api.post(
        f"/api/v1/flows/{flow.slug}/executions", data=json.dumps(dedup), content_type="application/json"
    )
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert len(calls) == 3 and calls[2][1] is not calls[1][1], "a deduplicated answer reads the first execution back"
    assert replayed.json() == first.json()
    assert replayed.json()["steps"][0]["name"] == "Greet"
