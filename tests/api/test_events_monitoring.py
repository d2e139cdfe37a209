"""``POST /api/v1/monitoring/events`` and ``POST /api/v1/monitoring/stats``: events with how their
executions went, the figures per use case, bad bodies, scopes and tenant isolation."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Scope
from flows import engine
from flows.models import Execution
from tests.api.conftest import ADD_FIELD, FAILING
from tests.api.test_events import event, send
from tests.conftest import token_client

EVENTS = "/api/v1/monitoring/events"
STATS = "/api/v1/monitoring/stats"

pytestmark = pytest.mark.django_db


def query(client, url=EVENTS, **body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def listed(client, **body) -> list[dict]:
    response = query(client, **body)
    assert response.status_code == 200, response.content
    return response.json()["events"]


@pytest.fixture
def history(api, make_flow, sandbox, execution_of):
    """Use case 'orders' (succeeds) with two events, 'checks' (fails) with one, a replay of the failed
    one, and a REST-triggered execution of 'orders' that is no event."""
    orders = make_flow(ADD_FIELD, slug="orders", deploy=[sandbox], use_case_slug="orders", use_case_enabled=True)
    make_flow(FAILING, slug="checks", deploy=[sandbox], use_case_slug="checks", use_case_enabled=True)
    first = send(api, [event(deduplication_id="o-1"), event(event_type="UPDATE")], meta={"correlation_id": "b-1"})
    failing = send(api, [event("checks", event_type="DELETE")], meta={"correlation_id": "b-2"})
    ids = [o["id"] for o in first.json()["events"] + failing.json()["events"]]
    for execution_id in ids[:1] + ids[2:]:
        engine.run(execution_id)
    replayed = api.post("/api/v1/events/replay", {"event_ids": [ids[2]]}, format="json").json()["events"][0]["id"]
    execution_of(orders, {"n": 1})  # a REST trigger's
    return {"done": ids[0], "queued": ids[1], "failed": ids[2], "replay": replayed}


class TestEvents:
    def test_each_event_comes_with_its_executions_status_error_and_timings_newest_first(self, api, history):
        events = listed(api)
        assert [e["id"] for e in events] == [history[k] for k in ("replay", "failed", "queued", "done")]
        done, queued = events[3], events[2]
        assert {k: done[k] for k in ("use_case", "environment", "event_type", "correlation_id", "status")} == {
            "use_case": "orders",
            "environment": "sandbox",
            "event_type": "CREATE",
            "correlation_id": "b-1",
            "status": "succeeded",
        }
        assert (done["deduplication_id"], done["timestamp"], done["error"]) == ("o-1", "2026-03-01T12:00:00+00:00", "")
        assert done["duration_ms"] >= 0 and done["latency_ms"] >= done["duration_ms"]
        assert (queued["status"], queued["event_type"], queued["started"], queued["duration_ms"]) == (
            "queued",
            "UPDATE",
            None,
            None,
        )
        failed = events[1]
        assert failed["status"] == "failed" and "the order is incomplete" in failed["error"]
        assert (events[0]["replay_of"], events[0]["event_type"], events[0]["status"]) == (
            history["failed"],
            "DELETE",
            "queued",
        )

    def test_filters_by_use_case_status_correlation_id_and_limit(self, api, history):
        assert {e["id"] for e in listed(api, use_case="checks")} == {history["failed"], history["replay"]}
        assert [e["id"] for e in listed(api, status=["failed", "succeeded"])] == [history["failed"], history["done"]]
        assert [e["id"] for e in listed(api, correlation_id="b-1", status=["queued"])] == [history["queued"]]
        assert [e["id"] for e in listed(api, limit=2)] == [history["replay"], history["failed"]]

    def test_the_range_is_from_inclusive_to_exclusive(self, api, history):
        moment = timezone.now().replace(microsecond=0) - timedelta(hours=2)
        Execution.objects.filter(pk=history["done"]).update(created=moment)
        got = listed(api, **{"from": moment.isoformat(), "to": (moment + timedelta(seconds=1)).isoformat()})
        assert [e["id"] for e in got] == [history["done"]]
        assert listed(api, **{"from": (moment - timedelta(hours=1)).isoformat(), "to": moment.isoformat()}) == []
        assert history["done"] in {e["id"] for e in listed(api, **{"from": "2000-01-01"})}
        Execution.objects.filter(pk=history["queued"]).update(created=timezone.now() - timedelta(hours=25))
        assert history["queued"] not in {e["id"] for e in listed(api)}, "by default the last 24 hours"

    @pytest.mark.parametrize(
        "body,field,words",
        [
            ({"from": "yesterday"}, "from", "is not a date or time"),
            ({"to": "2026-02-30"}, "to", "is not a real date"),
            ({"from": "2026-03-02", "to": "2026-03-01"}, "to", "later than from"),
            ({"from": "2026-03-01", "to": "2026-03-01"}, "to", "later than from"),
            ({"limit": 0}, "limit", "greater than or equal to 1"),
            ({"limit": 1001}, "limit", "less than or equal to 1000"),
            ({"limit": "many"}, "limit", "valid integer"),
            ({"status": ["done"]}, "status", "Unknown status 'done'; use one of: queued"),
            ({"status": []}, "status", "may not be empty"),
            ({"status": "failed"}, "status", "list"),
            ({"use_case": "nope"}, "use_case", "Unknown use case 'nope'"),
            ({"stauts": ["failed"]}, "stauts", "Unknown field (accepted fields: use_case,"),
        ],
    )
    def test_a_bad_body_is_a_400_naming_the_field(self, api, history, body, field, words):
        response = query(api, **body)
        assert response.status_code == 400, response.content
        assert words in json.dumps(response.json()["errors"][field]), response.json()

    def test_a_body_that_is_not_an_object_is_a_400(self, api, history):
        response = api.post(EVENTS, data="[1]", content_type="application/json")
        assert response.status_code == 400

    def test_another_organizations_events_and_use_cases_are_not_theirs(self, outsider_api, history):
        assert listed(outsider_api) == []
        mine, missing = query(outsider_api, use_case="orders"), query(outsider_api, use_case="missing")
        assert (mine.status_code, missing.status_code) == (400, 400)
        assert mine.json()["errors"]["use_case"] == ["Unknown use case 'orders'."]

    def test_monitoring_read_is_the_scope_and_a_viewer_may_look(self, org, owner, viewer_api, scoped_api, history):
        assert len(listed(scoped_api(Scope.MONITORING_READ))) == 4
        assert len(listed(viewer_api)) == 4
        refused = query(token_client(org, owner, [Scope.EVENTS_WRITE]))
        assert refused.status_code == 403 and "monitoring:read" in refused.json()["detail"]


class TestStats:
    def test_the_figures_per_flow_as_before_and_per_use_case_for_events(self, api, history):
        response = query(api, STATS)
        assert response.status_code == 200, response.content
        answer = response.json()
        flows = {row["flow"]["slug"]: row for row in answer["flows"]}
        assert flows["orders"]["total"] == 3, "the REST-triggered execution counts for its flow"
        use_cases = {row["use_case"]: row for row in answer["use_cases"]}
        assert list(use_cases) == ["checks", "orders"]
        assert use_cases["orders"]["total"] == 2
        assert use_cases["orders"]["by_status"] == {
            "queued": 1,
            "running": 0,
            "waiting": 0,
            "succeeded": 1,
            "completed_with_errors": 0,
            "failed": 0,
            "cancelled": 0,
        }
        assert use_cases["orders"]["latency_ms"]["count"] == 1
        assert (use_cases["checks"]["total"], use_cases["checks"]["by_status"]["failed"]) == (2, 1)
        assert use_cases["checks"]["flow"]["slug"] == "checks"

    def test_narrowed_to_one_use_case_and_environment(self, api, history):
        answer = query(api, STATS, use_case="orders").json()
        assert [row["flow"]["slug"] for row in answer["flows"]] == ["orders"]
        assert [row["use_case"] for row in answer["use_cases"]] == ["orders"]
        assert query(api, STATS, environment="production").json()["use_cases"] == []

    def test_bad_ranges_and_other_organizations_use_cases_are_400s(self, api, outsider_api, history):
        assert query(api, STATS, **{"from": "2026-03-02", "to": "2026-03-01"}).status_code == 400
        assert query(api, STATS, limit=5).json()["errors"]["limit"][0].startswith("Unknown field")
        assert query(outsider_api, STATS, use_case="orders").status_code == 400
        assert query(outsider_api, STATS).json()["use_cases"] == []

    def test_the_query_string_form_is_unchanged(self, api, history):
        answer = api.get(STATS).json()
        assert "use_cases" not in answer and {row["flow"]["slug"] for row in answer["flows"]} == {"orders", "checks"}
