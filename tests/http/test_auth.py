"""Each authentication scheme against a real server that checks it, through the connector's pool."""

from __future__ import annotations

import time

import pytest

from connectors import pools, runtime
from connectors.catalog.base import ConnectorError, Deadline
from connectors.http import auth
from instructions.http import render
from tests.http import server as srv

pytestmark = pytest.mark.django_db


def call(connector, environment, text: str, context: dict | None = None, **options):
    rendered = render(text, context or {})
    return runtime.call(connector, environment, rendered.text, rendered.params, Deadline(5000), options)


@pytest.mark.parametrize(
    "given, path",
    [
        ({"auth_type": "basic", "username": srv.USER, "password": srv.PASSWORD}, "/basic"),
        ({"auth_type": "bearer", "token": srv.TOKEN}, "/bearer"),
        ({"auth_type": "api_key", "api_key": srv.API_KEY}, "/apikey-header"),
        (
            {"auth_type": "api_key", "api_key": srv.API_KEY, "api_key_in": "query", "api_key_name": "api_key"},
            "/apikey-query",
        ),
    ],
)
def test_each_simple_scheme_is_accepted_by_the_server_and_a_wrong_secret_is_not(
    http_connector, sandbox, api_server, given, path
):
    good = http_connector(given, name="good")
    assert call(good, sandbox, f"GET {path}")["body"] == {"ok": True}

    secret_field = next(name for name in ("password", "token", "api_key") if name in given)
    bad = http_connector({**given, secret_field: "wrong"}, name="bad")
    with pytest.raises(ConnectorError, match=rf"GET {path} answered 401"):
        call(bad, sandbox, f"GET {path}")


def oauth_settings(**extra) -> dict:
    return {
        "auth_type": "oauth2_client_credentials",
        "oauth_token_url": "",  # filled by the test with the server's URL
        "oauth_client_id": srv.CLIENT_ID,
        "oauth_client_secret": srv.CLIENT_SECRET,
        **extra,
    }


class Clock:
    """The token cache's clock, moved on by the test: a token expires without the test waiting for it."""

    def __init__(self):
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


def test_oauth2_fetches_one_token_per_lifetime_and_sends_scope_audience_and_extras(
    http_connector, sandbox, api_server, monkeypatch
):
    clock = Clock()
    monkeypatch.setattr(auth, "time", clock)
    api_server.state.token_lifetime = 2
    connector = http_connector(
        oauth_settings(
            oauth_token_url=f"{api_server.url}/token",
            oauth_scope="api:read api:write",
            oauth_audience="https://partner.example",
            oauth_resource="urn:partner",
            oauth_body_params="tenant=acme",
            oauth_headers="X-Tenant: acme",
            oauth_query_params="realm=erp",
        )
    )
    for _ in range(5):
        assert call(connector, sandbox, "GET /oauth/customers")["body"] == {"ok": True}
    assert api_server.state.token_requests == 1, "the token is reused while it lives"

    clock.offset += 2.1
    assert call(connector, sandbox, "GET /oauth/customers")["status"] == 200
    assert api_server.state.token_requests == 2, "a new token once the old one (nearly) expired"

    form = api_server.state.token_forms[0]
    assert form["scope"] == "api:read api:write"
    assert form["audience"] == "https://partner.example"
    assert form["resource"] == "urn:partner"
    assert form["tenant"] == "acme"
    assert form["_query"] == {"realm": "erp"}
    assert form["_headers"]["x-tenant"] == "acme"


def test_oauth2_client_credentials_can_go_as_basic_auth(http_connector, sandbox, api_server):
    connector = http_connector(oauth_settings(oauth_token_url=f"{api_server.url}/token", oauth_client_auth="basic"))
    assert call(connector, sandbox, "GET /oauth/x")["status"] == 200
    assert "client_secret" not in api_server.state.token_forms[0]


def test_a_401_with_a_cached_token_refreshes_it_once_and_retries(http_connector, sandbox, api_server):
    connector = http_connector(oauth_settings(oauth_token_url=f"{api_server.url}/token"))
    call(connector, sandbox, "GET /oauth/a")
    api_server.state.revoke_tokens()

    assert call(connector, sandbox, "GET /oauth/a")["status"] == 200
    assert api_server.state.token_requests == 2


def test_a_refused_token_request_says_what_the_token_endpoint_answered(http_connector, sandbox, api_server):
    connector = http_connector(oauth_settings(oauth_token_url=f"{api_server.url}/token", oauth_client_secret="nope"))
    with pytest.raises(ConnectorError, match="token endpoint answered 401: .*invalid_client") as refused:
        call(connector, sandbox, "GET /oauth/a")
    assert srv.CLIENT_SECRET not in str(refused.value)


def session_settings(**extra) -> dict:
    return {
        "auth_type": "session",
        "username": srv.USER,
        "password": srv.PASSWORD,
        "session_login_path": "/entity/auth/login",
        "session_logout_path": "/entity/auth/logout",
        "session_username_field": "name",
        "session_extra": "company=Acme Ltd\nbranch=HQ",
        **extra,
    }


def test_a_session_login_is_reused_renewed_after_expiry_and_logged_out_when_the_pool_closes(
    http_connector, sandbox, api_server
):
    connector = http_connector(session_settings())
    for _ in range(3):
        assert call(connector, sandbox, "GET /entity/Default/24.200.001/Customer")["status"] == 200
    assert api_server.state.logins == 1
    assert api_server.state.login_bodies[0] == {
        "name": srv.USER,
        "password": srv.PASSWORD,
        "company": "Acme Ltd",
        "branch": "HQ",
    }

    api_server.state.expire_sessions()
    assert call(connector, sandbox, "GET /entity/Default/24.200.001/Customer")["status"] == 200
    assert api_server.state.logins == 2, "an expired session is signed in again, once"

    pools.close_all()
    assert api_server.state.logouts == 1


def test_a_failed_login_fails_the_call_with_the_servers_answer(http_connector, sandbox, api_server):
    connector = http_connector(session_settings(password="wrong"))
    with pytest.raises(ConnectorError, match="session login answered 500: .*Invalid credentials"):
        call(connector, sandbox, "GET /entity/x")


def test_acumatica_signs_in_with_company_and_calls_the_endpoint_path(http_connector, sandbox, api_server):
    connector = http_connector(
        {
            "instance_uri": f"{api_server.url}/entity/Default/6.00.001",
            "endpoint_name": "Default",
            "endpoint_version": "24.200.001",
            "username": srv.USER,
            "password": srv.PASSWORD,
            "company": "Acme Ltd",
        },
        type_key="acumatica",
        name="Acumatica",
    )
    output = call(connector, sandbox, "GET /SalesOrder/{{ n }}\n?$top=2", {"n": "SO/1"})
    assert output["body"]["path"] == "/entity/Default/24.200.001/SalesOrder/SO%2F1"
    assert output["body"]["query"] == {"$top": "2"}
    assert api_server.state.login_bodies == [{"name": srv.USER, "password": srv.PASSWORD, "company": "Acme Ltd"}]
    pools.close_all()
    assert api_server.state.logouts == 1
