"""Managed calls: CRUD like flows, and ``POST /api/v1/managed-calls/{slug}/execute`` running one synchronously."""

from __future__ import annotations

import pytest

from managed.models import ManagedCall
from tests.http import server as srv

pytestmark = pytest.mark.django_db
EXECUTE = "/api/v1/managed-calls/{}/execute"


@pytest.fixture
def connector(http_connector):
    return http_connector({"auth_type": "bearer", "token": srv.TOKEN})


def create(api, connector, *, status=201, **fields):
    body = {
        "name": "Get customer",
        "slug": "get-customer",
        "connector": connector.pk,
        "environment": "sandbox",
        "request": "POST /echo/customers/{{ payload.customer_id }}\nAccept: application/json",
        "request_mapping": '{"id": payload.customer_id, "full": payload.first & " " & payload.last}',
        "response_mapping": '{"name": body.body, "path": body.path, "status": status}',
        **fields,
    }
    response = api.post("/api/v1/managed-calls/", body, format="json")
    assert response.status_code == status, response.json()
    return response.json()


def test_a_managed_call_maps_the_payload_calls_the_api_and_maps_the_answer(api, connector, api_server):
    create(api, connector)
    response = api.post(
        EXECUTE.format("get-customer"),
        {"payload": {"customer_id": "C 001", "first": "Jo", "last": "Doe"}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json() == {
        "success": True,
        "data": {"name": '{"id": "C 001", "full": "Jo Doe"}', "path": "/echo/customers/C%20001", "status": 200},
    }
    sent = api_server.state.requests[-1]
    assert sent["headers"]["authorization"] == f"Bearer {srv.TOKEN}"
    assert sent["headers"]["content-type"] == "application/json"


def test_without_mappings_the_answer_is_the_response_body(api, connector):
    create(api, connector, slug="plain", request="GET /echo/x", request_mapping="", response_mapping="")
    data = api.post(EXECUTE.format("plain"), {"payload": None}, format="json").json()
    assert data["success"] is True
    assert data["data"]["path"] == "/echo/x"


def test_a_mapping_error_is_a_422_naming_the_stage(api, connector):
    create(api, connector, request_mapping="$number(payload.customer_id) + 1")
    response = api.post(EXECUTE.format("get-customer"), {"payload": {"customer_id": "abc"}}, format="json")
    assert response.status_code == 422
    body = response.json()
    assert body["success"] is False
    assert body["stage"] == "request_mapping"
    assert "The mapping failed" in body["error"]


def test_a_failing_api_is_a_502_with_the_status_and_a_slow_one_a_504(api, connector, api_server):
    create(api, connector, slug="broken", request="GET /status/503", request_mapping="", response_mapping="")
    response = api.post(EXECUTE.format("broken"), {"payload": {}}, format="json")
    assert response.status_code == 502
    assert response.json()["error"].startswith("GET /status/503 answered 503")

    api_server.state.slow_seconds = 3
    create(api, connector, slug="slow", request="GET /slow", request_mapping="", response_mapping="", timeout_ms=500)
    response = api.post(EXECUTE.format("slow"), {"payload": {}}, format="json")
    assert response.status_code == 504
    assert response.json()["stage"] == "call"


def test_secrets_never_appear_in_the_answer(api, connector, org, sandbox, secret_var):
    create(
        api,
        connector,
        slug="echo-secret",
        request='POST /echo/s\nX-Api-Key: {{ env.API_KEY }}\n\n{"k": {{ env.API_KEY }}}',
        request_mapping="",
        response_mapping="",
    )
    response = api.post(EXECUTE.format("echo-secret"), {"payload": {}}, format="json")
    assert response.status_code == 200
    text = response.content.decode()
    assert secret_var not in text
    assert srv.TOKEN not in text


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("request", "GET /x\nnot a header", "line 2, column 1"),
        ("request_mapping", "{ ", "does not parse"),
        ("slug", "Bad Slug", "lowercase"),
        ("environment", "staging", "Unknown environment"),
    ],
)
def test_bad_definitions_are_refused_naming_the_field(api, connector, field, value, message):
    body = create(api, connector, status=400, **{field: value})
    assert message in str(body), body


def test_a_database_connector_cannot_back_a_managed_call(api, org, sandbox):
    from connectors.models import Connector

    database = Connector.objects.create(organization=org, type_key="sqlite", name="Local")
    body = create(api, database, status=400)
    assert "needs an HTTP-based one" in str(body)


def test_an_outsider_sees_404_and_a_viewer_cannot_run_or_change_it(api, connector, outsider_api, viewer_api):
    create(api, connector)
    assert outsider_api.get("/api/v1/managed-calls/get-customer/").status_code == 404
    assert outsider_api.post(EXECUTE.format("get-customer"), {"payload": {}}, format="json").status_code == 404
    assert viewer_api.get("/api/v1/managed-calls/get-customer/").status_code == 200
    assert viewer_api.post(EXECUTE.format("get-customer"), {"payload": {}}, format="json").status_code == 403
    assert viewer_api.delete("/api/v1/managed-calls/get-customer/").status_code == 403
    assert ManagedCall.objects.filter(slug="get-customer").exists()


def test_an_outsiders_connector_cannot_be_used(api, outsider_api, other_org, http_connector):
    from connectors.models import Connector

    foreign = Connector.objects.create(organization=other_org, type_key="http", name="Theirs")
    body = create(api, foreign, status=400)
    assert "connector" in body.get("errors", body)


def test_a_disabled_call_is_refused_and_the_environment_can_be_chosen(api, connector, org, production):
    create(api, connector, slug="off", request="GET /echo/x", request_mapping="", response_mapping="", enabled=False)
    response = api.post(EXECUTE.format("off"), {"payload": {}}, format="json")
    assert response.status_code == 409

    create(api, connector, slug="prod", request="GET /echo/x", request_mapping="", response_mapping="")
    response = api.post(EXECUTE.format("prod"), {"payload": {}, "environment": "production"}, format="json")
    assert response.status_code == 502, "the connector is configured for the sandbox only"
    assert "not configured for the 'Production' environment" in response.json()["error"]


def test_the_call_can_be_read_and_changed(api, connector):
    create(api, connector)
    response = api.patch("/api/v1/managed-calls/get-customer/", {"timeout_ms": 2000}, format="json")
    assert response.status_code == 200, response.json()
    assert ManagedCall.objects.get(slug="get-customer").timeout_ms == 2000
    listed = api.get("/api/v1/managed-calls/").json()
    items = listed["results"] if isinstance(listed, dict) else listed
    assert [c["slug"] for c in items] == ["get-customer"]
    assert items[0]["url"] == "/api/v1/managed-calls/get-customer/execute"


def test_a_connector_a_managed_call_uses_cannot_be_deleted(api, connector):
    create(api, connector)
    refused = api.delete(f"/api/v1/connectors/{connector.pk}/")
    assert refused.status_code == 409
    body = refused.json()
    assert body["flows"] == []
    assert [call["slug"] for call in body["managed_calls"]] == ["get-customer"]
    assert "1 managed call ('Get customer') use it" in body["detail"]
    assert ManagedCall.objects.filter(connector=connector).exists()
    api.delete("/api/v1/managed-calls/get-customer/")
    assert api.delete(f"/api/v1/connectors/{connector.pk}/").status_code == 204
