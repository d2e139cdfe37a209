"""``POST /api/v1/flows/{slug}/executions``: starting, payload formats, deduplication, bad input, permissions."""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Scope
from flows.models import Execution
from tests.api.conftest import queued_ids
from tests.conftest import token_client

URL = "/api/v1/flows/add-field/executions"


def post_json(client, body, url=URL, **headers):
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return client.post(url, data=raw, content_type="application/json", **headers)


def assert_refused(response, status: int, words: str) -> None:
    """The trigger answered ``status`` with ``words`` in its message, and no execution exists."""
    assert response.status_code == status, response.content
    assert words in response.json()["detail"]
    assert not Execution.objects.exists()


@pytest.mark.django_db
class TestStarting:
    def test_wait_zero_answers_202_with_the_url_of_the_queued_execution(self, api, deployed):
        response = post_json(api, {"environment": "sandbox", "payload": {"order": 7}})
        assert response.status_code == 202, response.json()
        body = response.json()
        execution = Execution.objects.get()
        assert body["id"] == execution.pk
        assert body["status"] == "queued"
        assert body["url"].endswith(f"/api/v1/executions/{execution.pk}/")
        assert response["Location"] == body["url"]
        assert (execution.trigger, execution.environment.slug, execution.version.number) == ("api", "sandbox", 1)
        assert execution.input["payload"] == {"order": 7}
        assert execution.started_by.username == "olivia"
        assert api.get(body["url"]).json()["id"] == execution.pk

    def test_headers_and_query_are_recorded_without_credentials(self, api, deployed):
        response = post_json(
            api,
            {"environment": "sandbox"},
            url=URL + "?source=shop&wait=0",
            HTTP_X_SHOP="eu-1",
            HTTP_X_API_KEY="k-123",
            HTTP_COOKIE="sessionid=abc",
        )
        assert response.status_code == 202
        recorded = Execution.objects.get().input
        assert recorded["headers"]["X-Shop"] == "eu-1"
        assert not {"Authorization", "X-Api-Key", "Cookie"} & set(recorded["headers"])
        assert recorded["query"] == {"source": "shop"}
        assert recorded["payload"] == {}

    def test_the_correlation_id_comes_from_the_body_or_the_header_or_is_generated(self, api, deployed):
        post_json(api, {"environment": "sandbox", "correlation_id": "order-1"})
        header = post_json(api, {"environment": "sandbox"}, HTTP_X_CORRELATION_ID="order-2")
        post_json(api, {"environment": "sandbox"})
        ids = list(Execution.objects.order_by("pk").values_list("correlation_id", flat=True))
        assert ids[:2] == ["order-1", "order-2"]
        assert len(ids[2]) == 32
        assert header["X-Correlation-ID"] == "order-2"

    def test_an_xml_body_is_the_payload_parsed_to_an_object(self, api, deployed):
        xml = b'<?xml version="1.0"?><order id="7"><line sku="A">2</line><line sku="B">3</line></order>'
        response = api.post(
            URL + "?environment=sandbox", data=xml, content_type="application/xml", HTTP_IDEMPOTENCY_KEY="x-1"
        )
        assert response.status_code == 202, response.json()
        execution = Execution.objects.get()
        assert execution.input["payload"] == {
            "order": {"@id": "7", "line": [{"@sku": "A", "#text": "2"}, {"@sku": "B", "#text": "3"}]}
        }
        assert execution.deduplication_key == "x-1"

    def test_an_empty_body_with_the_environment_in_the_query_runs_with_an_empty_payload(self, api, deployed):
        response = api.post(URL + "?environment=sandbox")
        assert response.status_code == 202
        assert Execution.objects.get().input["payload"] == {}

    def test_waiting_answers_202_when_the_execution_is_still_queued_at_the_end(self, api, deployed):
        started = time.monotonic()
        response = post_json(api, {"environment": "sandbox", "wait": 1})
        assert time.monotonic() - started >= 1
        assert response.status_code == 202
        assert response.json()["status"] == "queued"


@pytest.mark.django_db
class TestDeduplication:
    def test_the_same_deduplication_id_returns_the_first_execution_with_200(self, api, deployed):
        first = post_json(api, {"environment": "sandbox", "deduplication_id": "order-7", "payload": {"n": 1}})
        again = post_json(api, {"environment": "sandbox", "payload": {"n": 2}}, HTTP_IDEMPOTENCY_KEY="order-7")
        assert first.status_code == 202
        assert again.status_code == 200
        assert again["Idempotent-Replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert Execution.objects.count() == 1
        assert Execution.objects.get().input["payload"] == {"n": 1}

    def test_after_24_hours_the_same_id_starts_a_new_execution(self, api, deployed):
        post_json(api, {"environment": "sandbox", "deduplication_id": "order-7"})
        Execution.objects.update(created=timezone.now() - timedelta(hours=24, minutes=1))
        response = post_json(api, {"environment": "sandbox", "deduplication_id": "order-7"})
        assert response.status_code == 202
        assert Execution.objects.count() == 2

    def test_the_same_id_for_another_flow_is_another_execution(self, api, deployed, make_flow, sandbox):
        from tests.api.conftest import ADD_FIELD

        make_flow(ADD_FIELD, slug="other", deploy=[sandbox])
        post_json(api, {"environment": "sandbox", "deduplication_id": "evt-1"})
        response = post_json(
            api, {"environment": "sandbox", "deduplication_id": "evt-1"}, url=URL.replace("add-field", "other")
        )
        assert response.status_code == 202
        assert Execution.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_identical_requests_create_one_execution_and_queue_it_once(org, owner, deployed, broker, redis_url):
    clients = [token_client(org, owner, [Scope.EXECUTIONS_RUN]) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def call(index: int) -> None:
        try:
            barrier.wait()
            answers[index] = post_json(clients[index], {"environment": "sandbox", "deduplication_id": "race-1"})
        finally:
            connection.close()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    [execution] = Execution.objects.all()
    assert sorted(a.status_code for a in answers) == [200] * (len(clients) - 1) + [202]
    assert {a.json()["id"] for a in answers} == {execution.pk}
    assert queued_ids(redis_url, broker) == [execution.pk]


@pytest.mark.django_db(transaction=True)
def test_a_trigger_is_sent_to_the_workers_queue_after_commit(api, deployed, broker, redis_url):
    response = post_json(api, {"environment": "sandbox"})
    assert response.status_code == 202
    assert queued_ids(redis_url, broker) == [response.json()["id"]]


@pytest.mark.django_db(transaction=True)
def test_when_the_broker_is_unreachable_the_answer_is_503_and_nothing_is_left_behind(api, deployed, settings):
    import socket

    from tests.api.conftest import celery_broker

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with celery_broker(f"redis://127.0.0.1:{port}/0"):
        response = post_json(api, {"environment": "sandbox", "deduplication_id": "d-1"})
    assert response.status_code == 503
    assert "nothing was started" in response.json()["detail"]
    assert not Execution.objects.exists()


TOO_LONG = "x" * 201


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body,content_type,status,words",
    [
        (b'{"environment": "sandbox", "payload": ', "application/json", 400, "not valid JSON"),
        (b'{"environment": "sandbox", "payload": NaN}', "application/json", 400, "NaN"),
        (b"[1, 2]", "application/json", 400, "JSON object"),
        (b'{"environment": "sandbox", "customer": "Ada"}', "application/json", 400, "'customer'"),
        (b'{"payload": {}}', "application/json", 400, "environment is required"),
        (b'{"environment": "moon"}', "application/json", 400, "Unknown environment 'moon'"),
        (b'{"environment": "production"}', "application/json", 409, "no version deployed to Production"),
        (b'{"environment": "sandbox", "wait": 61}', "application/json", 400, "wait must be"),
        (b'{"environment": "sandbox", "wait": -1}', "application/json", 400, "wait must be"),
        (b'{"environment": "sandbox", "wait": "soon"}', "application/json", 400, "wait must be"),
        (b'{"environment": "sandbox", "wait": true}', "application/json", 400, "wait must be"),
        (b'{"environment": "sandbox", "wait": 1.5}', "application/json", 400, "wait must be"),
        (('{"environment": "sandbox", "correlation_id": "' + TOO_LONG + '"}').encode(), "application/json", 400, "200"),
        (b'{"environment": "sandbox", "payload": {"a": "x\\u0000y"}}', "application/json", 400, "payload.a"),
        (b'{"environment": "sandbox"}', "text/plain", 415, "application/json"),
        (b"environment=sandbox", "application/x-www-form-urlencoded", 415, "application/json"),
        (b"<order><id>1</order>", "application/xml", 400, "well-formed"),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "application/xml", 400, "DOCTYPE"),
        (b"<a>" * 201 + b"</a>" * 201, "application/xml", 400, "more than 200 levels deep"),
        pytest.param(
            b'{"environment": "sandbox", "payload": ' + b"[" * 201 + b"]" * 201 + b"}",
            "application/json",
            400,
            "more than 200 levels deep",
            id="json-nested-too-deep",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx_and_creates_nothing(api, deployed, body, content_type, status, words):
    assert_refused(api.post(URL, data=body, content_type=content_type), status, words)


def test_xml_nested_up_to_the_limit_is_accepted(api, deployed):
    response = api.post(URL + "?environment=sandbox", data=b"<a>" * 200 + b"</a>" * 200, content_type="application/xml")
    assert response.status_code == 202, response.content
    assert "a" in Execution.objects.get().input["payload"]


@pytest.mark.django_db
def test_an_unknown_flow_is_404(api, deployed):
    response = post_json(api, {"environment": "sandbox"}, url="/api/v1/flows/nope/executions")
    assert response.status_code == 404
    assert "nope" in response.json()["detail"]


@pytest.mark.django_db
def test_a_disabled_flow_is_refused_with_409(api, deployed):
    deployed.enabled = False
    deployed.save()
    assert_refused(post_json(api, {"environment": "sandbox"}), 409, "disabled")


@pytest.mark.django_db
def test_a_payload_over_the_default_4_mb_is_413(api, deployed):
    body = json.dumps({"environment": "sandbox", "payload": {"blob": "x" * (4 * 1024 * 1024)}})
    assert_refused(api.post(URL, data=body, content_type="application/json"), 413, "limit is 4,194,304 bytes")


@pytest.mark.django_db
def test_the_size_limit_follows_the_setting(api, deployed, settings):
    settings.ERPFLOW_MAX_PAYLOAD_BYTES = 2048
    small = json.dumps({"environment": "sandbox", "payload": {"blob": "x" * 1500}})
    large = json.dumps({"environment": "sandbox", "payload": {"blob": "x" * 2100}})
    assert api.post(URL, data=small, content_type="application/json").status_code == 202
    response = api.post(URL, data=large, content_type="application/json")
    assert response.status_code == 413
    assert Execution.objects.count() == 1


@pytest.mark.django_db
def test_a_viewer_cannot_trigger_even_with_the_scope(viewer_api, deployed):
    assert_refused(post_json(viewer_api, {"environment": "sandbox"}), 403, "viewer")


@pytest.mark.django_db
def test_a_token_without_executions_run_cannot_trigger(scoped_api, deployed):
    reader = scoped_api(Scope.FLOWS_READ, Scope.FLOWS_WRITE, Scope.MONITORING_READ)
    assert_refused(post_json(reader, {"environment": "sandbox"}), 403, "executions:run")


@pytest.mark.django_db
def test_without_credentials_the_answer_is_401(client, deployed):
    response = client.post(URL, data=b'{"environment": "sandbox"}', content_type="application/json")
    assert response.status_code == 401
    assert not Execution.objects.exists()


@pytest.mark.django_db
def test_a_signed_in_editor_can_trigger_with_the_session_and_csrf(editor, deployed):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(editor)
    refused = browser.post(URL, data=b'{"environment": "sandbox"}', content_type="application/json")
    assert refused.status_code == 403
    browser.get("/flows/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(
        URL, data=b'{"environment": "sandbox"}', content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 202, response.content
