"""A task that fails anywhere ends its execution as ``failed`` with the error at once, never leaving it
``running`` for the watchdog; and data attributes are data keys, never the methods of a dict.

Triggered as a client does (REST with ``wait``), run by a real Celery worker process.
"""

from __future__ import annotations

import json
import time

import pytest

from expressions.properties import properties
from expressions.sandbox import ExpressionError, evaluate
from flows.models import Execution, StepRun
from tests.api.conftest import make_flow, worker_pool, workers  # noqa: F401 - fixtures used by these tests
from tests.flows.builders import graph, sql


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


def trigger_and_wait(api, slug: str, payload: dict) -> tuple[dict, float]:
    started = time.monotonic()
    response = api.post(
        f"/api/v1/flows/{slug}/executions",
        data=json.dumps({"environment": "sandbox", "payload": payload, "wait": 20}),
        content_type="application/json",
    )
    return response, time.monotonic() - started


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "expression,words",
    [
        ("trigger.payload.items", "refers to something that does not exist"),
        ("trigger.payload['values']", "refers to something that does not exist"),
        ("concat", "is a function, not a value"),
        ("range(3)", "is a range, not a value"),
    ],
)
def test_a_value_that_is_not_data_fails_the_step_at_once(api, make_flow, sandbox, pg, workers, expression, words):  # noqa: F811
    make_flow(graph([sql("q", pg, "SELECT {{ " + expression + " }} AS v")]), slug="methods", deploy=[sandbox])
    response, seconds = trigger_and_wait(api, "methods", {"order": 7})
    assert response.status_code == 200, (response.json(), workers.logs())
    body = response.json()
    assert body["status"] == "failed", body
    assert words in body["error"], body["error"]
    assert seconds < 15
    assert StepRun.objects.get(execution_id=body["id"]).status == StepRun.Status.FAILED


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_step_whose_record_cannot_be_stored_fails_the_execution_at_once(api, make_flow, sandbox, pg, workers):  # noqa: F811
    # PostgreSQL answers NaN, which JSON (and so the jsonb column of step records) cannot hold.
    make_flow(graph([sql("q", pg, "SELECT 'NaN'::float8 AS v")]), slug="nan", deploy=[sandbox])
    response, seconds = trigger_and_wait(api, "nan", {})
    assert response.status_code == 200, (response.json(), workers.logs())
    body = response.json()
    assert body["status"] == "failed", body
    assert "Step 'q'" in body["error"] and "could not be recorded" in body["error"], body["error"]
    assert seconds < 15
    assert Execution.objects.get(pk=body["id"]).finished is not None


@pytest.fixture
def context():
    payload = {"items": [1], "name": "x", "nested": {"a": 1}}
    return properties(env={}, trigger={"payload": payload}, steps={}, execution_id=1)


def test_data_attributes_are_keys_and_methods_answer_only_when_called(context):
    assert evaluate("trigger.payload.items", context) == [1]
    assert evaluate("trigger.payload.nested.get('a')", context) == 1
    assert evaluate("trigger.payload.nested.keys()|list", context) == ["a"]
    assert evaluate("trigger.payload.name.upper()", context) == "X"
    missing = ("trigger.payload.nested.items", "trigger.payload.nested['items']", "trigger.payload.items.count")
    for expression in missing:
        with pytest.raises(ExpressionError, match="refers to something that does not exist"):
            evaluate(expression, context)
    with pytest.raises(ExpressionError, match="refers to something that does not exist"):
        evaluate("trigger.payload.nested.values|list", context)
    with pytest.raises(ExpressionError, match="is a function, not a value"):
        evaluate("trigger.payload.name.upper", context)
