"""Executions through the API: filtered lists, detail with every StepRun, replay, bulk replay, cancel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Scope
from flows.models import Execution
from tests.api.conftest import FAILING, TWO_STEPS

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_flow, sandbox, production, execution_of, run_now):
    """Finished executions of two flows: orders (succeeded in sandbox, failed-by-design checks, one in production)."""
    orders = make_flow(TWO_STEPS, slug="orders", name="Orders", deploy=[sandbox, production])
    checks = make_flow(FAILING, slug="checks", name="Checks", deploy=[sandbox])
    done = run_now(execution_of(orders, {"customer": "Ada", "qty": [1, 2]}, correlation_id="c-1"))
    failed = run_now(execution_of(checks, {}, correlation_id="c-2", trigger=Execution.Trigger.WEBHOOK))
    prod = run_now(execution_of(orders, {"customer": "Bo", "qty": [3]}, environment=production, correlation_id="c-3"))
    return {"orders": orders, "checks": checks, "done": done, "failed": failed, "prod": prod}


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [e["id"] for e in response.json()["results"]]


def test_the_list_is_newest_first_and_paginated(api, history):
    assert ids(api.get("/api/v1/executions/")) == [history["prod"].pk, history["failed"].pk, history["done"].pk]
    page = api.get("/api/v1/executions/?limit=2&offset=2").json()
    assert page["count"] == 3
    assert [e["id"] for e in page["results"]] == [history["done"].pk]


@pytest.mark.parametrize(
    "query,expected",
    [
        ("flow=orders", ["prod", "done"]),
        ("status=failed", ["failed"]),
        ("status=failed,succeeded", ["prod", "failed", "done"]),
        ("environment=production", ["prod"]),
        ("trigger=webhook", ["failed"]),
        ("correlation_id=c-1", ["done"]),
        ("flow=orders&environment=sandbox", ["done"]),
    ],
)
def test_the_list_filters(api, history, query, expected):
    assert ids(api.get(f"/api/v1/executions/?{query}")) == [history[name].pk for name in expected]


def test_the_list_filters_by_time_range(api, history):
    Execution.objects.filter(pk=history["done"].pk).update(created=timezone.now() - timedelta(days=2))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert history["done"].pk not in ids(api.get("/api/v1/executions/", {"since": since}))
    assert ids(api.get("/api/v1/executions/", {"until": since})) == [history["done"].pk]


def test_the_time_range_takes_offsets_postgresql_would_refuse(api, history):
    assert ids(api.get("/api/v1/executions/?until=0059-05-13T08:44:32%2B22:57")) == []
    assert len(ids(api.get("/api/v1/executions/?since=2000-01-01T00:00%2B23:59"))) == 3


@pytest.mark.parametrize(
    "query,field",
    [
        ("status=lost", "status"),
        ("trigger=fax", "trigger"),
        ("since=yesterday", "since"),
        ("since=2025-02-30", "since"),
        ("until=2025-13-01T08:00", "until"),
        ("correlation_id=c%00", "correlation_id"),
        ("environment=%00", "environment"),
        ("since=2025-02-02&until=2025-01-01", "until"),
    ],
)
def test_bad_filters_are_400_naming_the_filter(api, history, query, field):
    response = api.get(f"/api/v1/executions/?{query}")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_detail_has_every_step_run_in_order(api, history):
    body = api.get(f"/api/v1/executions/{history['failed'].pk}/").json()
    assert body["status"] == "failed"
    assert [(s["position"], s["name"], s["status"]) for s in body["steps"]] == [
        (0, "Fine", "succeeded"),
        (1, "Check order", "failed"),
    ]
    failing = body["steps"][1]
    assert "the order is incomplete" in failing["error"]
    assert failing["instruction"] == '$error("the order is incomplete")'
    assert {"started", "finished", "duration_ms", "params", "output", "output_truncated"} <= set(failing)
    assert body["input"]["payload"] == {}


def test_replay_runs_the_same_version_with_the_same_input_as_a_new_linked_execution(api, history, owner):
    original = history["done"]
    response = api.post(f"/api/v1/executions/{original.pk}/replay/")
    assert response.status_code == 201, response.json()
    replay = Execution.objects.get(pk=response.json()["id"])
    assert replay.replay_of == original
    assert (replay.version, replay.environment, replay.input) == (
        original.version,
        original.environment,
        original.input,
    )
    assert (replay.trigger, replay.status, replay.correlation_id) == ("replay", "queued", "c-1")
    assert replay.started_by == owner


def test_a_running_execution_cannot_be_replayed(api, deployed, execution_of):
    running = execution_of(deployed, status=Execution.Status.RUNNING)
    response = api.post(f"/api/v1/executions/{running.pk}/replay/")
    assert response.status_code == 409
    assert "still running" in response.json()["detail"]


def test_bulk_replay_replays_failed_executions_once(api, history, execution_of, run_now):
    second = run_now(execution_of(history["checks"], {}))
    response = api.post("/api/v1/executions/replay/", {"flow": "checks"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["replayed"] == 2
    replays = Execution.objects.filter(trigger="replay").order_by("pk")
    assert [r.replay_of_id for r in replays] == [history["failed"].pk, second.pk]
    again = api.post("/api/v1/executions/replay/", {"flow": "checks"}, format="json")
    assert again.json()["replayed"] == 0, "executions already replayed are left alone"


def test_bulk_replay_honours_ids_and_limit(api, history, execution_of, run_now):
    second = run_now(execution_of(history["checks"], {}))
    only = api.post("/api/v1/executions/replay/", {"ids": [second.pk, history["done"].pk]}, format="json").json()
    assert [e["id"] for e in only["executions"]] == [Execution.objects.get(replay_of=second).pk]
    assert api.post("/api/v1/executions/replay/", {"limit": 0}, format="json").status_code == 400


def test_bulk_replay_takes_at_most_100_executions_per_request(api, history):
    too_many = api.post("/api/v1/executions/replay/", {"ids": list(range(1, 102))}, format="json")
    assert too_many.status_code == 400
    assert "ids" in too_many.json()["errors"]
    assert api.post("/api/v1/executions/replay/", {"limit": 101}, format="json").status_code == 400
    assert not Execution.objects.filter(replay_of__isnull=False).exists()


@pytest.mark.parametrize(
    "body,field",
    [({"since": "yesterday"}, "since"), ({"ids": "7"}, "ids"), ({"limit": 501}, "limit")],
)
def test_bulk_replay_with_bad_filters_is_400_and_replays_nothing(api, history, body, field):
    response = api.post("/api/v1/executions/replay/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Execution.objects.filter(trigger="replay").exists()


def test_cancelling_a_queued_execution_ends_it_at_once(api, deployed, execution_of):
    queued = execution_of(deployed)
    response = api.post(f"/api/v1/executions/{queued.pk}/cancel/")
    assert response.status_code == 200
    queued.refresh_from_db()
    assert (queued.status, queued.cancel_requested) == ("cancelled", True)


def test_cancelling_a_running_execution_asks_it_to_stop(api, deployed, execution_of):
    running = execution_of(deployed, status=Execution.Status.RUNNING)
    assert api.post(f"/api/v1/executions/{running.pk}/cancel/").status_code == 200
    running.refresh_from_db()
    assert (running.status, running.cancel_requested) == ("running", True)


def test_cancelling_a_finished_execution_is_a_conflict(api, history):
    response = api.post(f"/api/v1/executions/{history['done'].pk}/cancel/")
    assert response.status_code == 409
    assert "already ended" in response.json()["detail"]


def test_a_viewer_reads_executions_but_never_re_runs_or_cancels_them(viewer_api, history, deployed, execution_of):
    queued = execution_of(deployed)
    assert viewer_api.get("/api/v1/executions/").status_code == 200
    assert viewer_api.post(f"/api/v1/executions/{history['done'].pk}/replay/").status_code == 403
    assert viewer_api.post("/api/v1/executions/replay/", {}, format="json").status_code == 403
    assert viewer_api.post(f"/api/v1/executions/{queued.pk}/cancel/").status_code == 403
    assert not Execution.objects.filter(trigger="replay").exists()
    queued.refresh_from_db()
    assert queued.status == "queued"


def test_reading_executions_needs_monitoring_read_and_replaying_needs_executions_run(scoped_api, history):
    runner = scoped_api(Scope.EXECUTIONS_RUN)
    reader = scoped_api(Scope.MONITORING_READ)
    response = runner.get("/api/v1/executions/")
    assert response.status_code == 403
    assert "monitoring:read" in response.json()["detail"]
    assert reader.get(f"/api/v1/executions/{history['done'].pk}/").status_code == 200
    assert reader.post(f"/api/v1/executions/{history['done'].pk}/replay/").status_code == 403
    assert runner.post(f"/api/v1/executions/{history['done'].pk}/replay/").status_code == 201


@pytest.mark.parametrize(
    "method,template",
    [
        ("get", "/api/v1/executions/{pk}/"),
        ("post", "/api/v1/executions/{pk}/replay/"),
        ("post", "/api/v1/executions/{pk}/cancel/"),
    ],
)
def test_an_outsider_gets_404_on_every_execution_endpoint(outsider_api, history, method, template):
    response = getattr(outsider_api, method)(template.format(pk=history["done"].pk))
    assert response.status_code == 404
    assert not Execution.objects.filter(trigger="replay").exists()


def test_an_outsider_lists_and_bulk_replays_nothing_of_another_organization(outsider_api, history):
    assert outsider_api.get("/api/v1/executions/").json()["results"] == []
    assert outsider_api.post("/api/v1/executions/replay/", {}, format="json").json()["replayed"] == 0
    assert not Execution.objects.filter(trigger="replay").exists()
