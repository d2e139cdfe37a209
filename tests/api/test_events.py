"""``POST /api/v1/events`` and ``/events/replay``: per-event outcomes, formats, limits, deduplication,
concurrency, rate limits, replay, tenancy and scopes."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from unittest import mock

import pytest
import redis
from django.db import connection
from django.utils import timezone

from accounts.choices import Scope
from flows import batch_start, payloads
from flows.models import Execution
from tests.api.conftest import ADD_FIELD, queued_ids
from tests.conftest import token_client
from tests.flows.builders import graph, mapping

URL = "/api/v1/events"
REPLAY = "/api/v1/events/replay"
XML = '<?xml version="1.0"?><order id="7"><line sku="A">2</line><line sku="B">3</line></order>'
NOW = "2026-03-01T12:00:00Z"


def event(use_case="orders", payload='{"n": 1}', **fields) -> dict:
    return {"event_type": "CREATE", "use_case_slug": use_case, "timestamp": NOW, "payload": payload, **fields}


def send(client, events, environment="sandbox", **body):
    data = {"events": events, **body}
    if environment:
        data["environment"] = environment
    return client.post(URL, data=json.dumps(data), content_type="application/json")


def send_at_once(org, owner, batches: list[list[dict]]) -> list:
    """Each batch from a client and a thread of its own, all let go at the same instant; the answers in order."""
    clients = [token_client(org, owner, [Scope.EVENTS_WRITE]) for _ in batches]
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def call(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = send(clients[index], batches[index])
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def outcomes(response) -> list[tuple]:
    assert response.status_code == 202, response.content
    return [(o["outcome"], o.get("reason", "")) for o in response.json()["events"]]


@pytest.fixture
def use_case(make_flow, sandbox):
    """The flow that adds a field, deployed to the sandbox and taking events as use case 'orders'."""
    return make_flow(ADD_FIELD, slug="orders", deploy=[sandbox], use_case_slug="orders", use_case_enabled=True)


@pytest.mark.django_db
class TestEvents:
    def test_a_json_and_an_xml_event_each_start_an_execution_with_the_event_as_trigger(self, api, use_case):
        response = send(
            api,
            [event(deduplication_id="e-1"), event(event_type="UPDATE", format="xml", payload=XML)],
            meta={"correlation_id": "batch-1"},
        )
        answer = response.json()
        assert outcomes(response) == [("accepted", ""), ("accepted", "")]
        assert answer["correlation_id"] == "batch-1"
        assert [o["index"] for o in answer["events"]] == [0, 1]
        first, second = (Execution.objects.get(pk=o["id"]) for o in answer["events"])
        assert (first.trigger, first.environment.slug, first.correlation_id) == ("event", "sandbox", "batch-1")
        assert first.input["payload"] == {"n": 1}
        assert first.input["event"] == {
            "type": "CREATE",
            "timestamp": "2026-03-01T12:00:00+00:00",
            "format": "json",
            "payload": {"n": 1},
            "correlation_id": "batch-1",
            "deduplication_id": "e-1",
        }
        assert first.deduplication_key == "e-1"
        # The same dict shape as an XML body sent to a REST trigger.
        assert second.input["payload"] == payloads.parse_xml(XML.encode()) == second.input["event"]["payload"]
        assert second.input["payload"]["order"]["@id"] == "7"
        assert second.input["event"]["type"] == "UPDATE"

    def test_expressions_read_trigger_event_and_trigger_payload(self, api, make_flow, sandbox, run_now):
        flow_graph = graph([mapping("m", '{"type": trigger.event.type, "n": trigger.payload.n}', name="Map")])
        make_flow(flow_graph, slug="typed", deploy=[sandbox], use_case_slug="typed", use_case_enabled=True)
        response = send(api, [event("typed", event_type="DELETE", payload='{"n": 5}')])
        finished = run_now(Execution.objects.get(pk=response.json()["events"][0]["id"]))
        assert finished.status == "succeeded", finished.error
        assert finished.output == {"type": "DELETE", "n": 5}

    def test_the_property_picker_offers_the_last_events_fields(self, api, use_case):
        send(api, [event(deduplication_id="e-1")])
        body = api.get("/api/v1/flows/orders/properties/?step=add&environment=sandbox").json()
        offered = {f["expression"]: f["example"] for f in body["trigger"]}
        assert offered["trigger.event.type"] == "CREATE"
        assert offered["trigger.event.payload.n"] == 1
        assert offered["trigger.payload.n"] == 1

    def test_the_legacy_event_name_names_the_use_case_and_use_case_slug_wins(self, api, use_case, make_flow, sandbox):
        make_flow(ADD_FIELD, slug="legacy", deploy=[sandbox], use_case_slug="legacy", use_case_enabled=True)
        old = event(None, event_name="orders")
        old.pop("use_case_slug")
        both = event("legacy", event_name="orders")
        answer = send(api, [old, both]).json()["events"]
        flows = [Execution.objects.get(pk=o["id"]).flow.slug for o in answer]
        assert flows == ["orders", "legacy"]

    def test_each_bad_event_is_rejected_with_its_reason_and_the_good_ones_run(self, api, use_case, make_flow, sandbox):
        make_flow(ADD_FIELD, slug="off", deploy=[sandbox], use_case_slug="off", use_case_enabled=False)
        use_case.event_types = ["CREATE", "UPDATE"]
        use_case.save()
        response = send(
            api,
            [
                event(),
                event("nope"),
                event("off"),
                event(payload='{"n": '),
                event(format="xml", payload='<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'),
                event(format="xml", payload="<open>"),
                event(event_type="DELETE"),
                event(timestamp="yesterday"),
                event(timestamp="2026-03-01T12:00:00"),
                event(event_type="create"),
                event(format="csv"),
                event(payload={"n": 1}),
                event(payload='{"a": "\\u0000"}'),
                event(colour="red"),
                "not an event",
                event(format="xml", payload=XML),
            ],
        )
        got = outcomes(response)
        assert got[0] == ("accepted", "") and got[-1] == ("accepted", "")
        reasons = [reason for _, reason in got[1:-1]]
        assert all(outcome == "rejected" for outcome, _ in got[1:-1])
        assert reasons[0] == "unknown use case 'nope'"
        assert reasons[1] == "use case 'off' is disabled"
        assert reasons[2].startswith("bad JSON payload: The payload is not valid JSON")
        assert reasons[3] == f"bad XML payload: {payloads.NO_DOCTYPE}"
        assert reasons[4].startswith("bad XML payload: The body is not well-formed XML")
        assert reasons[5] == "use case 'orders' does not take DELETE events (it takes CREATE, UPDATE)"
        assert reasons[6].startswith("timestamp must be an ISO 8601 date and time")
        assert reasons[7].startswith("timestamp '2026-03-01T12:00:00' has no UTC offset")
        assert reasons[8].startswith("event_type must be one of CREATE, UPDATE, DELETE")
        assert reasons[9] == "format must be json or xml; got 'csv'"
        assert reasons[10] == "payload must be a string holding JSON"
        assert "NUL" in reasons[11] or "\\u0000" in reasons[11]
        assert reasons[12].startswith("unknown field 'colour'")
        assert reasons[13] == "an event must be an object"
        assert response.json()["events"][1]["id"] is None
        assert Execution.objects.count() == 2

    def test_oversized_and_undecodable_payloads_are_rejected_not_errors(self, api, use_case, settings):
        settings.ERPFLOW_MAX_PAYLOAD_BYTES = 50
        body = json.dumps({"environment": "sandbox", "events": [event(payload='{"a": "\\ud800"}')]})
        body = body.replace("\\\\ud800", "\\ud800")  # a lone surrogate inside the payload string itself
        got = outcomes(api.post(URL, data=body, content_type="application/json"))
        got += outcomes(send(api, [event(payload=json.dumps({"a": "x" * 60}))]))
        escaped = '{"a": "\\ud800"}'  # the escape inside the payload's JSON
        got += outcomes(send(api, [event(payload=escaped), event("\ud800"), event(**{"\udc00": 1})]))
        assert all(outcome == "rejected" for outcome, _ in got)
        assert "lone surrogate" in got[0][1]
        assert got[1][1] == "payload is 69 bytes; at most 50 are accepted"
        assert got[2][1].startswith("bad JSON payload: payload.a contains a lone surrogate (\\ud800)")
        assert got[3][1] == "unknown use case '\\ud800'"
        assert got[4][1].startswith("unknown field '\\udc00'")
        assert not Execution.objects.exists()

    def test_a_use_case_not_deployed_to_the_environment_is_rejected_saying_so(self, api, use_case, production):
        [(outcome, reason)] = outcomes(send(api, [event()], environment="production"))
        assert outcome == "rejected"
        assert "has no version deployed to" in reason
        assert not Execution.objects.exists()

    def test_the_environment_may_come_from_the_query_string(self, api, use_case):
        data = json.dumps({"events": [event()]})
        response = api.post(URL + "?environment=sandbox", data=data, content_type="application/json")
        assert outcomes(response) == [("accepted", "")]


@pytest.mark.django_db
class TestBatchRefusals:
    @pytest.mark.parametrize(
        "body,field,words",
        [
            ([], "body", "must be a JSON object"),
            ({"environment": "sandbox"}, "events", "at least one event"),
            ({"environment": "sandbox", "events": []}, "events", "at least one event"),
            ({"environment": "sandbox", "events": [{}] * 101}, "events", "at most 100 events; this one has 101"),
            ({"events": [{}]}, "environment", "environment is required: one of"),
            ({"environment": "moon", "events": [{}]}, "environment", "Unknown environment 'moon'"),
            ({"environment": "sandbox", "events": [{}], "extra": 1}, "extra", "Unknown field 'extra'"),
            ({"environment": "sandbox", "events": [{}], "meta": "x"}, "meta", "meta must be an object"),
            (
                {"environment": "sandbox", "events": [{}], "meta": {"correlation_id": "x" * 201}},
                "correlation_id",
                "at most 200",
            ),
        ],
    )
    def test_an_unreadable_batch_is_a_400_naming_the_field_and_nothing_runs(self, api, use_case, body, field, words):
        response = api.post(URL, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
        assert words in response.json()["detail"]
        assert field in response.json()["errors"]
        assert not Execution.objects.exists()

    def test_exactly_100_events_are_taken(self, api, use_case):
        assert len(outcomes(send(api, [event()] * 100))) == 100
        assert Execution.objects.count() == 100


@pytest.mark.django_db
class TestDeduplication:
    def test_the_same_id_is_a_duplicate_naming_the_first_execution_and_runs_nothing(self, api, use_case):
        first = send(api, [event(deduplication_id="d-1")]).json()["events"][0]
        again = send(api, [event(deduplication_id="d-1", payload='{"n": 2}'), event(deduplication_id="d-1")])
        assert outcomes(again) == [("duplicate", ""), ("duplicate", "")]
        assert {o["id"] for o in again.json()["events"]} == {first["id"]}
        assert Execution.objects.get().input["payload"] == {"n": 1}

    def test_the_same_id_for_another_use_case_is_another_event(self, api, use_case, make_flow, sandbox):
        make_flow(ADD_FIELD, slug="other", deploy=[sandbox], use_case_slug="other", use_case_enabled=True)
        response = send(api, [event(deduplication_id="d-1"), event("other", deduplication_id="d-1")])
        assert outcomes(response) == [("accepted", ""), ("accepted", "")]

    def test_after_24_hours_the_same_id_runs_again(self, api, use_case):
        start = timezone.now()
        with mock.patch("django.utils.timezone.now", return_value=start):
            send(api, [event(deduplication_id="d-1")])
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=23, minutes=59)):
            assert outcomes(send(api, [event(deduplication_id="d-1")])) == [("duplicate", "")]
        with mock.patch("django.utils.timezone.now", return_value=start + timedelta(hours=24, seconds=1)):
            assert outcomes(send(api, [event(deduplication_id="d-1")])) == [("accepted", "")]
        assert Execution.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_50_parallel_batches_with_the_same_ids_create_each_event_once(org, owner, use_case, broker, redis_url):
    ids = ["p-1", "p-2", "p-3"]
    answers = send_at_once(org, owner, [[event(deduplication_id=i) for i in ids]] * 50)
    executions = {e.deduplication_key: e.pk for e in Execution.objects.all()}
    assert sorted(executions) == ids
    results = [o for answer in answers for o in answer.json()["events"]]
    assert sum(o["outcome"] == "accepted" for o in results) == 3
    assert sum(o["outcome"] == "duplicate" for o in results) == 3 * 49
    assert all(o["id"] == executions[ids[o["index"]]] for o in results)
    assert sorted(queued_ids(redis_url, broker)) == sorted(executions.values())


@pytest.mark.django_db(transaction=True)
def test_batches_carrying_the_same_ids_in_opposite_orders_neither_deadlock_nor_double(
    org, owner, use_case, broker, redis_url
):
    """A batch locks its ids all at once, sorted: in batch order, two of these would wait on each other."""
    ids = [f"o-{n}" for n in range(20)]
    batches = [[event(deduplication_id=i) for i in (ids if n % 2 else ids[::-1])] for n in range(8)]
    answers = send_at_once(org, owner, batches)
    assert [answer.status_code for answer in answers] == [202] * len(batches)
    created = dict(Execution.objects.values_list("deduplication_key", "pk"))
    assert sorted(created) == sorted(ids)
    results = [o for answer in answers for o in answer.json()["events"]]
    assert sum(o["outcome"] == "accepted" for o in results) == len(ids)
    assert sum(o["outcome"] == "duplicate" for o in results) == len(ids) * (len(batches) - 1)
    assert sorted(queued_ids(redis_url, broker)) == sorted(created.values())


@pytest.mark.django_db
def test_an_id_twice_in_one_batch_creates_one_execution_and_the_second_answers_it(api, use_case):
    response = send(api, [event(deduplication_id="t-1"), event(), event(deduplication_id="t-1", payload='{"n": 2}')])
    assert outcomes(response) == [("accepted", ""), ("accepted", ""), ("duplicate", "")]
    first, _, second = response.json()["events"]
    assert second["id"] == first["id"]
    assert Execution.objects.get(deduplication_key="t-1").input["payload"] == {"n": 1}
    assert Execution.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_100_is_sent_to_the_workers_queue_in_batch_order(api, use_case, broker, redis_url):
    response = send(api, [event(deduplication_id=f"q-{n}", payload=f'{{"n": {n}}}') for n in range(100)])
    ids = [o["id"] for o in response.json()["events"]]
    assert outcomes(response) == [("accepted", "")] * 100
    assert ids == sorted(ids)
    assert [Execution.objects.get(pk=pk).input["payload"]["n"] for pk in (ids[0], ids[-1])] == [0, 99]
    assert queued_ids(redis_url, broker) == ids
    messages = redis.Redis.from_url(redis_url).llen(broker)
    assert messages == 100 // batch_start.EXECUTIONS_PER_MESSAGE, "a batch's executions travel in a few messages"


@pytest.mark.django_db(transaction=True)
def test_when_the_broker_is_unreachable_the_batchs_new_events_are_rejected_and_nothing_is_left(
    api, use_case, broker, redis_url
):
    """Duplicates of an earlier event still answer it; every event that would have run is refused
    with the reason, and its execution removed again, so the sender can send it again."""
    import socket

    from tests.api.conftest import celery_broker

    (first,) = [o["id"] for o in send(api, [event(deduplication_id="b-0")]).json()["events"]]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with celery_broker(f"redis://127.0.0.1:{port}/0"):
        response = send(api, [event(deduplication_id="b-0"), event(), event(deduplication_id="b-1")] * 2)
    got = outcomes(response)
    assert got[0] == got[3] == ("duplicate", "")
    assert [o["id"] for o in response.json()["events"][::3]] == [first, first]
    for outcome, reason in got[1:3] + got[4:]:
        assert outcome == "rejected"
        assert "task queue did not accept" in reason and "nothing was started" in reason
    assert list(Execution.objects.values_list("pk", flat=True)) == [first]
    assert queued_ids(redis_url, broker) == [first]
    again = send(api, [event(deduplication_id="b-1")])
    assert outcomes(again) == [("accepted", "")], "a refused event may be sent again"


@pytest.fixture
def counted(settings, redis_url):
    """Rate limits counted in the test's Redis database, starting from no counts."""
    from config import redis_client

    settings.REDIS_URL = redis_url
    redis_client._client = None
    for key in redis_client.client().scan_iter("erpflow:ratelimit:*"):
        redis_client.client().delete(key)
    yield settings
    redis_client._client = None


@pytest.mark.django_db
def test_each_event_counts_against_the_rate_limit(counted, api, use_case):
    counted.ERPFLOW_RATE_LIMIT_ORGANIZATION = 5
    assert outcomes(send(api, [event()] * 3)) == [("accepted", "")] * 3  # the request and 3 events: 4
    refused = send(api, [event()] * 3)  # the request makes 5, its events would make 8
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Each event counts as a request" in refused.json()["detail"]
    assert Execution.objects.count() == 3


@pytest.mark.django_db
class TestReplay:
    def first_event(self, api, **fields) -> Execution:
        response = send(api, [event(deduplication_id="r-1", **fields)])
        execution = Execution.objects.get(pk=response.json()["events"][0]["id"])
        Execution.objects.filter(pk=execution.pk).update(status=Execution.Status.FAILED)
        return execution

    def replay(self, client, ids):
        return client.post(REPLAY, data=json.dumps({"event_ids": ids}), content_type="application/json")

    def test_an_event_runs_again_as_a_new_execution_linked_to_the_first(self, api, use_case):
        first = self.first_event(api)
        response = self.replay(api, [first.pk])
        assert response.status_code == 202, response.content
        [answer] = response.json()["events"]
        assert (answer["index"], answer["event_id"], answer["outcome"]) == (0, first.pk, "accepted")
        again = Execution.objects.get(pk=answer["id"])
        assert again.replay_of_id == first.pk
        assert again.input["event"] == first.input["event"]
        assert again.input["payload"] == {"n": 1}

    def test_unknown_ids_other_triggers_and_unfinished_events_are_rejected_per_id(
        self, api, use_case, execution_of, make_flow, other_org, outsider
    ):
        first = self.first_event(api)
        rest = execution_of(use_case, {"n": 1}, status=Execution.Status.FAILED)
        queued = send(api, [event()]).json()["events"][0]["id"]
        elsewhere = foreign_environment(other_org)
        foreign = make_flow(ADD_FIELD, slug="foreign", organization=other_org, deploy=[elsewhere])
        theirs = execution_of(foreign, status=Execution.Status.FAILED, environment=elsewhere)
        Execution.objects.filter(pk=theirs.pk).update(input={"payload": {}, "event": {"type": "CREATE"}})
        response = self.replay(api, [rest.pk, theirs.pk, 999_999, queued, first.pk])
        got = [(o["outcome"], o.get("reason", "")) for o in response.json()["events"]]
        assert got[:3] == [("rejected", "unknown event")] * 3
        assert got[3][0] == "rejected" and "still queued" in got[3][1]
        assert got[4] == ("accepted", "")

    def test_a_use_case_disabled_since_is_rejected(self, api, use_case):
        first = self.first_event(api)
        use_case.use_case_enabled = False
        use_case.save()
        [answer] = self.replay(api, [first.pk]).json()["events"]
        assert (answer["outcome"], answer["reason"]) == ("rejected", "use case 'orders' is disabled")
        assert Execution.objects.count() == 1

    @pytest.mark.parametrize(
        "body,words",
        [({"event_ids": list(range(1, 102))}, "no more than 100"), ({"event_ids": []}, ""), ({}, ""), ([1], "")],
    )
    def test_a_bad_list_of_ids_is_a_400(self, api, use_case, body, words):
        response = api.post(REPLAY, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 400, response.content
        assert words in json.dumps(response.json())


def foreign_environment(organization):
    from accounts.models import Environment

    return Environment.objects.get(organization=organization, slug="sandbox")


@pytest.mark.django_db
class TestAccess:
    def test_another_organizations_use_case_is_an_unknown_use_case(self, outsider_api, use_case, other_org):
        got = outcomes(send(outsider_api, [event("orders"), event("missing")]))
        assert got == [("rejected", "unknown use case 'orders'"), ("rejected", "unknown use case 'missing'")]
        assert not Execution.objects.exists()

    def test_a_token_without_events_write_gets_403(self, org, owner, use_case):
        lacking = token_client(org, owner, [s for s in Scope.values if s != Scope.EVENTS_WRITE])
        for url in (URL, REPLAY):
            response = lacking.post(url, data=json.dumps({"events": [event()]}), content_type="application/json")
            assert response.status_code == 403
            assert "events:write" in response.json()["detail"]
        assert not Execution.objects.exists()

    def test_a_token_with_only_events_write_sends_events(self, scoped_api, use_case):
        assert outcomes(send(scoped_api(Scope.EVENTS_WRITE), [event()])) == [("accepted", "")]

    def test_a_viewer_cannot_send_events(self, viewer_api, use_case):
        assert send(viewer_api, [event()]).status_code == 403
