"""``GET /api/v1/monitoring/stats``: counts by status and p50/p95 durations per flow, from known executions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Scope
from flows import monitoring
from flows.models import Execution
from tests.api.conftest import ADD_FIELD

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)
QUEUEING_MS = 5


def other_org_sandbox(organization):
    from accounts.models import Environment

    return Environment.objects.get(organization=organization, slug="sandbox")


@pytest.fixture
def known(make_flow, sandbox, production, execution_of, other_org):
    """Orders: durations 10, 20, 30, 40, 100 ms succeeded, 50 ms failed, one still queued; Refunds: one
    cancelled before it started; plus executions outside the range and of another organization."""
    orders = make_flow(ADD_FIELD, slug="orders", name="Orders", deploy=[sandbox, production])
    refunds = make_flow(ADD_FIELD, slug="refunds", name="Refunds", deploy=[sandbox])

    def finished(flow, status, duration_ms, *, minutes_ago=10, environment=None):
        execution = execution_of(flow, environment=environment)
        started = NOW - timedelta(minutes=minutes_ago)
        Execution.objects.filter(pk=execution.pk).update(
            status=status,
            created=started - timedelta(milliseconds=QUEUEING_MS),
            started=started,
            finished=started + timedelta(milliseconds=duration_ms),
        )
        return execution

    for duration in (10, 20, 30, 40):
        finished(orders, "succeeded", duration)
    finished(orders, "succeeded", 100, environment=production)
    finished(orders, "failed", 50)
    queued = execution_of(orders)
    Execution.objects.filter(pk=queued.pk).update(created=NOW - timedelta(minutes=1))
    cancelled = execution_of(refunds)
    Execution.objects.filter(pk=cancelled.pk).update(status="cancelled", created=NOW - timedelta(minutes=2))
    finished(orders, "succeeded", 9999, minutes_ago=60 * 30)  # outside the last 24 hours
    theirs_env = other_org_sandbox(other_org)
    theirs = make_flow(ADD_FIELD, slug="orders", name="Orders", organization=other_org, deploy=[theirs_env])
    finished(theirs, "failed", 1, environment=theirs_env)
    return {"orders": orders, "refunds": refunds, "theirs": theirs}


def stats(client, **params):
    response = client.get("/api/v1/monitoring/stats", {"until": NOW.isoformat(), **params})
    assert response.status_code == 200, response.json()
    return response.json()


def test_counts_and_percentiles_per_flow_over_the_last_24_hours(api, known):
    body = stats(api)
    orders, refunds = body["flows"]
    assert orders["flow"]["slug"] == "orders"
    assert orders["total"] == 7
    assert orders["by_status"] == {
        "queued": 1,
        "running": 0,
        "waiting": 0,
        "succeeded": 5,
        "completed_with_errors": 0,
        "failed": 1,
        "cancelled": 0,
    }
    # durations 10, 20, 30, 40, 50, 100: p50 between 30 and 40, p95 at 4.75 of 5 steps between 50 and 100
    assert orders["duration_ms"] == {"p50": 35.0, "p95": 87.5, "count": 6}
    assert orders["latency_ms"] == {"p50": 35.0 + QUEUEING_MS, "p95": 87.5 + QUEUEING_MS, "count": 6}
    assert refunds["total"] == 1
    assert refunds["by_status"]["cancelled"] == 1
    assert refunds["duration_ms"] == {"p50": None, "p95": None, "count": 0}


def test_the_range_and_filters_narrow_the_figures(api, known):
    wide = stats(api, since=(NOW - timedelta(days=2)).isoformat())
    assert wide["flows"][0]["total"] == 8
    production = stats(api, environment="production")
    assert [(f["flow"]["slug"], f["total"], f["duration_ms"]["p50"]) for f in production["flows"]] == [
        ("orders", 1, 100.0)
    ]
    only_refunds = stats(api, flow="refunds")
    assert [f["flow"]["slug"] for f in only_refunds["flows"]] == ["refunds"]
    recent = stats(api, since=(NOW - timedelta(minutes=3)).isoformat())
    assert [(f["flow"]["slug"], f["total"]) for f in recent["flows"]] == [("orders", 1), ("refunds", 1)]


def test_python_and_postgresql_compute_the_same_percentiles(known):
    finished = Execution.objects.filter(
        started__isnull=False, finished__isnull=False, created__gte=NOW - timedelta(days=1)
    )
    by_sql = {row["flow"]["id"]: row["duration_ms"] for row in monitoring.stats(finished, NOW - timedelta(days=1), NOW)}
    by_python = {flow_id: figures["duration_ms"] for flow_id, figures in monitoring.figures_python(finished).items()}
    assert by_python == by_sql
    assert set(by_python) == {known["orders"].pk, known["theirs"].pk}


def test_the_percentile_interpolates_like_percentile_cont():
    assert monitoring.percentile([], 0.5) is None
    assert monitoring.percentile([7.0], 0.95) == 7.0
    assert monitoring.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert monitoring.percentile([10.0, 20.0], 0.95) == pytest.approx(19.5)


def test_bad_ranges_are_400(api, known):
    assert api.get("/api/v1/monitoring/stats", {"since": "soon"}).status_code == 400
    impossible = api.get("/api/v1/monitoring/stats", {"since": "2025-02-30"})
    assert impossible.status_code == 400
    assert "'2025-02-30' is not a real date" in impossible.json()["errors"]["since"][0]
    assert api.get("/api/v1/monitoring/stats", {"since": "0001-01-01T00:00+23:00"}).status_code == 400
    nul = api.get("/api/v1/monitoring/stats", {"environment": "sand\x00box"})
    assert nul.status_code == 400
    assert "NUL character" in nul.json()["errors"]["environment"][0]
    response = api.get("/api/v1/monitoring/stats", {"since": NOW.isoformat(), "until": NOW.isoformat()})
    assert response.status_code == 400
    assert "until" in response.json()["errors"]


def test_stats_need_monitoring_read_and_each_organization_sees_only_its_own(scoped_api, outsider_api, known):
    assert scoped_api(Scope.EXECUTIONS_RUN).get("/api/v1/monitoring/stats").status_code == 403
    assert scoped_api(Scope.MONITORING_READ).get("/api/v1/monitoring/stats").status_code == 200
    theirs = stats(outsider_api)["flows"]
    assert [(f["flow"]["id"], f["total"]) for f in theirs] == [(known["theirs"].pk, 1)]
