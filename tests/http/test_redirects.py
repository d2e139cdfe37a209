"""Redirects: followed within the connector's origin, refused to any other, so no credential goes along.

Two real servers on 127.0.0.1 with different ports are two origins. httpx itself only drops
``Authorization`` on a cross-origin hop; an API key header, a query-parameter key, a credential
default header, a session cookie or a token request's form body would reach the other server.
"""

from __future__ import annotations

import pytest

from flows import engine, versions
from flows.models import Execution, Flow
from tests.flows.builders import graph, sql
from tests.http import server as srv
from tests.http.server import ApiServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_server():
    server = ApiServer().start()
    yield server
    server.stop()


CREDENTIALS = {
    "auth_type": "api_key",
    "api_key": srv.API_KEY,
    "default_headers": "X-Partner-Token: hdr-T0ken-5555",
}


def run_step(api, owner, connector, instruction: str) -> dict:
    flow = Flow.objects.create(organization=connector.organization, name="Redirect", slug="redirect")
    assert versions.save_draft(flow, graph([sql("a", connector, instruction, name="Call")]), owner) == []
    started = api.post("/api/v1/flows/redirect/run/", {"payload": {}}, format="json")
    assert started.status_code == 202, started.content
    engine.run(started.json()["id"])
    return api.get(f"/api/v1/executions/{started.json()['id']}/").json()


@pytest.mark.parametrize(
    "given",
    [
        CREDENTIALS,
        {"auth_type": "api_key", "api_key": srv.API_KEY, "api_key_in": "query", "api_key_name": "api_key"},
        {"auth_type": "basic", "username": srv.USER, "password": srv.PASSWORD},
    ],
    ids=["api key header", "api key query", "basic"],
)
def test_a_step_redirected_to_another_origin_fails_and_nothing_reaches_it(
    api, owner, http_connector, api_server, other_server, given
):
    connector = http_connector(given)
    target = f"{other_server.url}/echo/landed"
    detail = run_step(api, owner, connector, f"GET /redirect\n?to={target}")

    assert detail["status"] == Execution.Status.FAILED
    error = detail["steps"][0]["error"]
    assert f"GET {api_server.url}/redirect was redirected to another origin ({target})" in error, error
    assert other_server.state.requests == [], "the other server saw no request, so no credential"


def test_a_redirect_within_the_origin_is_followed_with_the_credentials(api, owner, http_connector, api_server):
    connector = http_connector(CREDENTIALS)
    detail = run_step(api, owner, connector, "GET /redirect\n?to=/apikey-header")
    assert detail["status"] == Execution.Status.SUCCEEDED, detail
    assert detail["output"]["body"] == {"ok": True}


def test_the_connection_test_does_not_follow_a_redirect_to_another_origin(
    api, http_connector, api_server, other_server
):
    api_server.state.redirect_to = f"{other_server.url}/echo/landed"
    connector = http_connector({**CREDENTIALS, "test_path": "/redirect"})
    answer = api.post(f"/api/v1/connectors/{connector.pk}/test/", {"environment": "sandbox"}, format="json")
    assert answer.status_code == 200, answer.content
    result = answer.json()
    assert result["ok"] is False
    assert "redirected to another origin" in result["message"]
    assert other_server.state.requests == []


def test_a_token_request_redirected_to_another_origin_does_not_send_the_client_secret_there(
    api, owner, http_connector, api_server, other_server
):
    connector = http_connector(
        {
            "auth_type": "oauth2_client_credentials",
            "oauth_token_url": f"{api_server.url}/redirect?to={other_server.url}/token",
            "oauth_client_id": srv.CLIENT_ID,
            "oauth_client_secret": srv.CLIENT_SECRET,
        }
    )
    detail = run_step(api, owner, connector, "GET /oauth/x")
    assert detail["status"] == Execution.Status.FAILED
    assert "redirected to another origin" in detail["error"]
    assert other_server.state.requests == []
