"""Eager execution (``flows.eager``): a waited trigger runs its flow in the web process, through the
same engine a worker runs; what is not waited for, or does not fit in the wait, goes to the workers.

The "web process" is this test process, served through Django's test client. Tests without the
``workers`` fixture have no Celery worker at all: an answer with the result proves it ran here. The
execution is created claimed, so these tests need committed rows (``transaction=True``).
"""

# ruff: noqa: F811 - the trigger fixtures of tests/api/conftest.py, imported by name
from __future__ import annotations

import json
import threading

import pytest

from flows import eager, engine
from flows.models import Execution, StepRun
from tests.api.conftest import ADD_FIELD, broker, make_flow, queued_ids, worker_pool, workers  # noqa: F401 - fixtures
from tests.flows.builders import chain, graph, mapping
from tests.flows.workers import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SPIN = '{"n": $count($map([1..trigger.payload.n], function($v){ $v * 2 }))}'
SLOW = graph(
    [mapping(f"s{i}", SPIN, name=f"Spin {i}", y=i, timeout_ms=60000) for i in range(4)], chain("s0", "s1", "s2", "s3")
)


def trigger(client, slug, body, query=""):
    return client.post(
        f"/api/v1/flows/{slug}/executions{query}", data=json.dumps(body), content_type="application/json"
    )


def test_a_waited_trigger_runs_in_the_web_process_without_any_worker(api, make_flow, sandbox, broker, redis_url):
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])

    response = trigger(api, "add", {"environment": "sandbox", "payload": {"order": 3}, "wait": 10})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["output"]) == ("succeeded", {"order": 3, "seen": True})
    assert [(s["name"], s["status"]) for s in body["steps"]] == [("Add field", "succeeded")]
    stored = Execution.objects.get(pk=body["id"])
    assert (stored.status, stored.attempts, stored.output) == ("succeeded", 1, {"order": 3, "seen": True})
    assert stored.started and stored.finished and stored.started <= stored.finished
    assert StepRun.objects.filter(execution=stored, status="succeeded").count() == 1
    assert queued_ids(redis_url, broker) == [], "nothing was sent to the workers"


@pytest.mark.parametrize("wait", [10, 3])
def test_a_flow_that_cannot_outlast_the_wait_runs_in_the_request_thread(wait, api, make_flow, sandbox, monkeypatch):
    """ADD_FIELD's one mapping has the default 3 s timeout: within a wait of 10 s it runs in the request's
    own thread; a wait of 3 s leaves no margin for it, so a pool thread runs it while the request waits."""
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    ran_in = []
    real = engine.run
    monkeypatch.setattr(engine, "run", lambda *a, **k: ran_in.append(threading.current_thread()) or real(*a, **k))

    response = trigger(api, "add", {"environment": "sandbox", "payload": {"order": 3}, "wait": wait})

    assert response.status_code == 200, response.content
    assert response.json()["output"] == {"order": 3, "seen": True}
    if wait == 10:
        assert ran_in == [threading.current_thread()]
    else:
        assert len(ran_in) == 1 and ran_in[0].name.startswith("erpflow-eager")


def test_a_failing_flow_answers_its_failure_and_fail_status(api, make_flow, sandbox, broker):
    failing = graph(
        [mapping("ok", '{"a": 1}', name="Fine", y=0), mapping("boom", '$error("no stock")', name="Check", y=1)],
        chain("ok", "boom"),
    )
    make_flow(failing, slug="checks", deploy=[sandbox])

    response = trigger(api, "checks", {"environment": "sandbox", "wait": 10, "fail_status": 422})

    assert response.status_code == 422
    assert response.json()["status"] == "failed" and "no stock" in response.json()["error"]
    assert [s["status"] for s in response.json()["steps"]] == ["succeeded", "failed"]


@pytest.mark.parametrize("how", ["setting", "flow", "no wait"])
def test_without_eager_execution_the_trigger_goes_to_the_workers(
    how, api, make_flow, sandbox, broker, redis_url, settings
):
    flow = make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    wait = 1
    if how == "setting":
        settings.ERPFLOW_EAGER_EXECUTION = False
    elif how == "flow":
        flow.run_in_web = False
        flow.save(update_fields=["run_in_web"])
    else:
        wait = 0

    response = trigger(api, "add", {"environment": "sandbox", "payload": {"n": 1}, "wait": wait})

    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    assert queued_ids(redis_url, broker) == [response.json()["id"]]
    assert not StepRun.objects.filter(execution_id=response.json()["id"]).exists()


def test_run_in_web_is_shown_and_editable_through_the_flow_api(api, make_flow, sandbox):
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    assert api.get("/api/v1/flows/add/").json()["run_in_web"] is True

    changed = api.patch("/api/v1/flows/add/", {"run_in_web": False}, format="json")

    assert changed.status_code == 200, changed.content
    assert changed.json()["run_in_web"] is False
    refused = api.patch("/api/v1/flows/add/", {"run_in_web": "sometimes"}, format="json")
    assert refused.status_code == 400 and "run_in_web" in refused.json()["errors"]


def test_when_the_wait_runs_out_a_worker_runs_the_rest_and_no_step_runs_twice(api, make_flow, sandbox, workers):
    make_flow(SLOW, slug="slow", deploy=[sandbox])

    response = trigger(api, "slow", {"environment": "sandbox", "payload": {"n": 90000}, "wait": 1})

    assert response.status_code == 202, response.content
    execution_id = response.json()["id"]
    finished = wait_until(
        lambda: Execution.objects.filter(pk=execution_id, status="succeeded").first(), 90, message="the rest"
    )
    records = list(StepRun.objects.filter(execution_id=execution_id).order_by("position"))
    assert [r.step_id for r in records] == ["s0", "s1", "s2", "s3"], "every step recorded once"
    deliveries = [r.delivery for r in records]
    assert deliveries[0] == 1 and deliveries[-1] == 2, f"started here, finished on a worker: {deliveries}"
    assert deliveries == sorted(deliveries)
    assert finished.attempts == 2


def test_a_respond_step_answers_at_once_and_a_worker_runs_the_rest(api, make_flow, sandbox, workers):
    respond = {
        "id": "r",
        "kind": "respond",
        "name": "Accept",
        "status": 201,
        "body": '{"accepted": trigger.payload.id}',
    }
    make_flow(
        graph([respond, mapping("slow", SPIN, name="Slow", y=1, timeout_ms=60000)], chain("r", "slow")),
        slug="accept",
        deploy=[sandbox],
    )

    response = trigger(api, "accept", {"environment": "sandbox", "payload": {"id": "SO-1", "n": 90000}, "wait": 30})

    assert response.status_code == 201, response.content
    assert response.json() == {"accepted": "SO-1"}
    execution = Execution.objects.get(flow__slug="accept")
    done = wait_until(lambda: Execution.objects.filter(pk=execution.pk, status="succeeded").first(), 90, message="end")
    assert done.attempts == 2, "the step after the answer ran on a worker"
    assert list(StepRun.objects.filter(execution=done).order_by("position").values_list("step_id", "delivery")) == [
        ("r", 1),
        ("slow", 2),
    ]


def test_a_waited_webhook_runs_in_the_web_process(api, client, make_flow, sandbox, broker, redis_url):
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    url = api.post("/api/v1/webhooks/", {"flow": "add", "environment": "sandbox"}, format="json").json()["url"]
    path = url[url.index("/hooks/") :]

    response = client.post(f"{path}?wait=10", data=json.dumps({"order": 5}), content_type="application/json")

    assert response.status_code == 200, response.content
    assert response.json()["output"] == {"order": 5, "seen": True}
    assert queued_ids(redis_url, broker) == []


def test_a_duplicate_of_an_eager_trigger_returns_the_first_and_runs_nothing(api, make_flow, sandbox, broker):
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    body = {"environment": "sandbox", "payload": {"n": 1}, "wait": 10, "deduplication_id": "order-1"}

    first = trigger(api, "add", body)
    again = trigger(api, "add", body)

    assert first.status_code == 200 and again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert Execution.objects.count() == 1 and StepRun.objects.count() == 1


def test_only_an_eager_run_a_duplicate_may_wait_for_is_announced_on_redis(
    api, make_flow, sandbox, broker, redis_url, settings, monkeypatch
):
    """The request that runs its execution is woken in-process; another process's request can only be
    waiting for it as a duplicate, so only an execution with a deduplication id is published."""
    import redis

    from config import redis_client
    from flows import notify

    settings.REDIS_URL = redis_url
    monkeypatch.setattr(redis_client, "_client", None)
    make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    listening = redis.Redis.from_url(redis_url).pubsub()
    listening.psubscribe(notify.CHANNEL_PREFIX + "*")
    assert listening.get_message(timeout=2)["type"] == "psubscribe"

    plain = trigger(api, "add", {"environment": "sandbox", "payload": {"n": 1}, "wait": 10})
    keyed = trigger(api, "add", {"environment": "sandbox", "payload": {"n": 2}, "wait": 10, "deduplication_id": "o-9"})

    assert plain.json()["output"] == {"n": 1, "seen": True} and keyed.json()["output"] == {"n": 2, "seen": True}
    channels = []
    while (message := listening.get_message(timeout=1)) is not None:
        channels.append(message["channel"].decode())
    listening.close()
    ours = {notify.channel(plain.json()["id"]), notify.channel(keyed.json()["id"])}
    assert [name for name in channels if name in ours] == [notify.channel(keyed.json()["id"])]


def test_inside_a_transaction_the_trigger_is_left_to_the_workers(make_flow, sandbox):
    """An uncommitted execution is invisible to the engine's thread: it must not be run there."""
    from django.db import transaction

    from flows.triggers import TriggerRequest

    flow = make_flow(ADD_FIELD, slug="add", deploy=[sandbox])
    with transaction.atomic():
        assert not eager.wanted(flow, TriggerRequest(wait=5))
    assert eager.wanted(flow, TriggerRequest(wait=5))
