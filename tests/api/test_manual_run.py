"""The manual Run: a snapshot of the draft, run in the sandbox with a test payload."""

from __future__ import annotations

import json

import pytest

from accounts.choices import Scope
from flows.models import Execution, FlowVersion
from tests.api.conftest import TWO_STEPS

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(make_flow):
    return make_flow(TWO_STEPS, slug="orders", name="Orders")


def test_running_the_draft_queues_a_snapshot_in_the_sandbox_with_the_test_payload(editor_api, orders, editor, run_now):
    response = editor_api.post(
        "/api/v1/flows/orders/run/", {"payload": {"customer": "Ada", "qty": [2, 3]}}, format="json"
    )
    assert response.status_code == 202, response.json()
    assert response.json()["draft_snapshot"] is True
    execution = Execution.objects.get(pk=response.json()["id"])
    assert (execution.trigger, execution.environment.slug, execution.started_by) == ("manual", "sandbox", editor)
    assert execution.version.snapshot is True
    assert not FlowVersion.objects.filter(flow=orders, snapshot=False).exists(), "a test run publishes nothing"
    assert run_now(execution).output == {"text": "Hello Ada", "total": 5}


def test_an_unchanged_draft_reuses_its_snapshot(api, orders):
    first = api.post("/api/v1/flows/orders/run/", {"payload": {}}, format="json").json()
    second = api.post("/api/v1/flows/orders/run/", {}, format="json").json()
    assert Execution.objects.get(pk=first["id"]).version_id == Execution.objects.get(pk=second["id"]).version_id


def test_a_disabled_flow_can_still_be_test_run(api, orders):
    orders.enabled = False
    orders.save()
    assert api.post("/api/v1/flows/orders/run/", {}, format="json").status_code == 202


def test_an_empty_draft_cannot_run(api, make_flow):
    make_flow(slug="empty")
    response = api.post("/api/v1/flows/empty/run/", {}, format="json")
    assert response.status_code == 400
    assert "no steps" in response.json()["detail"]
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    "body,words",
    [
        ({"payload": {"a": "\u0000"}}, "payload.a contains a NUL character"),
        ({"wait": 99}, "wait must be"),
        ({"wait": "soon"}, "wait must be"),
        ([{"payload": {}}], "must be a JSON object"),
    ],
)
def test_bad_run_input_is_refused(api, orders, body, words):
    response = api.post("/api/v1/flows/orders/run/", body, format="json")
    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert not Execution.objects.exists()


def test_a_run_payload_nested_too_deep_is_refused(api, orders):
    payload: list = []
    for _ in range(200):
        payload = [payload]
    response = api.post("/api/v1/flows/orders/run/", {"payload": payload}, format="json")
    assert response.status_code == 400
    assert "The body nests objects or lists more than 200 levels deep" in response.json()["detail"]
    assert not Execution.objects.exists()


def test_a_run_body_over_the_request_limit_is_413_in_json(api, orders, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({"payload": {"blob": "x" * 3000}})
    response = api.post("/api/v1/flows/orders/run/", data=body, content_type="application/json")
    assert response.status_code == 413
    assert "the limit is 2,048 bytes" in response.json()["detail"]
    assert not Execution.objects.exists()


def test_viewers_and_tokens_without_executions_run_cannot_run_drafts(viewer_api, scoped_api, orders):
    assert viewer_api.post("/api/v1/flows/orders/run/", {}, format="json").status_code == 403
    writer = scoped_api(Scope.FLOWS_READ, Scope.FLOWS_WRITE)
    response = writer.post("/api/v1/flows/orders/run/", {}, format="json")
    assert response.status_code == 403
    assert "executions:run" in response.json()["detail"]
    assert not Execution.objects.exists()
