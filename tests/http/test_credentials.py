"""No form of a connector's credentials leaves erpflow, whatever the server echoes back.

Each authentication scheme calls a server that repeats the request (its headers, its raw path) in a
200 answer and in a 500 error page. The credential goes out in a derived form (base64 of
``user:password``, a URL-encoded query value, a token fetched from the token URL, a session cookie
set by a login); the flow is run through the API as a person runs it, and the execution's detail
and list, the managed call's answer, the connection test's answer and every error must hold none of
those forms.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus

import pytest

from core.masking import MASK
from flows import engine, versions
from flows.models import Execution, Flow
from managed.models import ManagedCall
from tests.flows.builders import chain, graph, sql
from tests.http import server as srv

pytestmark = pytest.mark.django_db

ODD_KEY = 'k3y+/AB=C&1"x'  # changes under URL encoding and JSON escaping
HEADER_SECRET = "hdr-K3y-98765"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def forms(*secrets: str) -> set[str]:
    """The shapes a secret takes on the wire and in an echoed answer."""
    found = set()
    for secret in secrets:
        found |= {secret, quote(secret, safe=""), quote_plus(secret), json.dumps(secret)[1:-1]}
    return found


def leaked(answer, secrets: set[str]) -> list[str]:
    """The forms found in ``answer`` as JSON text (where a value holding quotes shows JSON-escaped, a form
    ``forms`` has), also after undoing one more level of escaping (a JSON body echoed inside a string)."""
    text = json.dumps(answer, ensure_ascii=False) if not isinstance(answer, str) else answer
    return sorted(s for s in secrets if s in text or s in text.replace("\\\\", "\\"))


SCHEMES = {
    "basic": (
        {"auth_type": "basic", "username": srv.USER, "password": srv.PASSWORD},
        lambda server: forms(srv.PASSWORD, b64(f"{srv.USER}:{srv.PASSWORD}")),
    ),
    "bearer": ({"auth_type": "bearer", "token": srv.TOKEN}, lambda server: forms(srv.TOKEN)),
    "api key header": ({"auth_type": "api_key", "api_key": srv.API_KEY}, lambda server: forms(srv.API_KEY)),
    "api key query": (
        {"auth_type": "api_key", "api_key": ODD_KEY, "api_key_in": "query", "api_key_name": "api_key"},
        lambda server: forms(ODD_KEY),
    ),
    "credential default header": (
        {"default_headers": f"X-API-Key: {HEADER_SECRET}"},
        lambda server: forms(HEADER_SECRET),
    ),
    "oauth2 client credentials": (
        {
            "auth_type": "oauth2_client_credentials",
            "oauth_token_url": "{base}/token",
            "oauth_client_id": srv.CLIENT_ID,
            "oauth_client_secret": srv.CLIENT_SECRET,
            "oauth_client_auth": "basic",
        },
        lambda server: forms(srv.CLIENT_SECRET, b64(f"{srv.CLIENT_ID}:{srv.CLIENT_SECRET}"), *server.state.tokens),
    ),
    "session login": (
        {
            "auth_type": "session",
            "username": srv.USER,
            "password": srv.PASSWORD,
            "session_login_path": "/entity/auth/login",
            "session_username_field": "name",
        },
        lambda server: forms(srv.PASSWORD, *server.state.sessions),
    ),
}


def connector_for(http_connector, api_server, scheme: str):
    given, _ = SCHEMES[scheme]
    given = {k: v.format(base=api_server.url) if isinstance(v, str) else v for k, v in given.items()}
    return http_connector(given)


def run_through_the_api(api, owner, graph_: dict) -> dict:
    flow = Flow.objects.create(organization=owner.memberships.first().organization, name="Echo", slug="echo")
    assert versions.save_draft(flow, graph_, owner) == []
    started = api.post("/api/v1/flows/echo/run/", {"payload": {}}, format="json")
    assert started.status_code == 202, started.content
    engine.run(started.json()["id"])
    return {
        "detail": api.get(f"/api/v1/executions/{started.json()['id']}/").json(),
        "list": api.get("/api/v1/executions/").json(),
    }


def echo_flow(connector) -> dict:
    return graph(
        [
            sql("echo", connector, "GET /echo/customers", name="Echo"),
            sql("fail", connector, "GET /echo-error", name="Error page", ignore=True),
        ],
        chain("echo", "fail"),
    )


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_no_form_of_a_credential_reaches_an_execution_when_the_server_echoes_it(
    api, owner, http_connector, api_server, scheme
):
    connector = connector_for(http_connector, api_server, scheme)
    seen = run_through_the_api(api, owner, echo_flow(connector))

    detail = seen["detail"]
    assert detail["status"] == Execution.Status.COMPLETED_WITH_ERRORS, detail
    echo, fail = detail["steps"]
    assert echo["output"]["body"]["path"] == "/echo/customers", "the server echoed the request"
    assert "answered 500" in fail["error"], fail
    secrets = SCHEMES[scheme][1](api_server)
    sent = json.dumps(api_server.state.requests)
    assert [s for s in secrets if s in sent], "the credential really went out"
    assert leaked(seen, secrets) == []
    assert MASK in json.dumps(echo["output"], ensure_ascii=False) and MASK in fail["error"]


@pytest.mark.parametrize("scheme", list(SCHEMES))
def test_no_form_of_a_credential_reaches_a_managed_calls_answer(api, http_connector, api_server, scheme, sandbox):
    connector = connector_for(http_connector, api_server, scheme)
    for slug, request in (("echo", "GET /echo/customers"), ("fail", "GET /echo-error")):
        ManagedCall.objects.create(
            organization=connector.organization,
            name=slug,
            slug=slug,
            connector=connector,
            environment=sandbox,
            request=request,
        )
    answer = api.post("/api/v1/managed-calls/echo/execute", {"payload": {}}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["data"]["path"] == "/echo/customers"
    failed = api.post("/api/v1/managed-calls/fail/execute", {"payload": {}}, format="json")
    assert failed.status_code == 502, failed.content

    secrets = SCHEMES[scheme][1](api_server)
    assert leaked([answer.json(), failed.json()], secrets) == []


def test_acumatica_session_cookie_and_password_never_reach_an_execution(api, owner, http_connector, api_server):
    connector = http_connector(
        {"instance_uri": api_server.url, "username": srv.USER, "password": srv.PASSWORD},
        type_key="acumatica",
        name="Acumatica",
    )
    seen = run_through_the_api(api, owner, graph([sql("a", connector, "GET /SalesOrder", name="Orders")]))
    assert seen["detail"]["status"] == Execution.Status.SUCCEEDED, seen["detail"]
    assert api_server.state.sessions, "signed in"
    assert leaked(seen, forms(srv.PASSWORD, *api_server.state.sessions)) == []


WRONG_CLIENT_SECRET = "wr0ng-Cl13nt-S3cret"


def wrong_client_secret_connector(http_connector, api_server):
    return http_connector(
        {
            "auth_type": "oauth2_client_credentials",
            "oauth_token_url": f"{api_server.url}/token",
            "oauth_client_id": srv.CLIENT_ID,
            "oauth_client_secret": WRONG_CLIENT_SECRET,
            "oauth_client_auth": "basic",
        }
    )


def test_a_refused_token_request_does_not_show_the_client_secret_in_base64(api, owner, http_connector, api_server):
    connector = wrong_client_secret_connector(http_connector, api_server)
    seen = run_through_the_api(api, owner, graph([sql("a", connector, "GET /oauth/x", name="Call")]))
    assert seen["detail"]["status"] == Execution.Status.FAILED
    assert "token endpoint answered 401" in seen["detail"]["error"]
    assert leaked(seen, forms(WRONG_CLIENT_SECRET, b64(f"{srv.CLIENT_ID}:{WRONG_CLIENT_SECRET}"))) == []


def test_the_connectors_own_credential_headers_are_not_recorded_with_the_request(
    api, owner, http_connector, api_server
):
    connector = http_connector({"auth_type": "basic", "username": srv.USER, "password": srv.PASSWORD})
    seen = run_through_the_api(api, owner, graph([sql("a", connector, "GET /echo/x", name="Call")]))
    step = seen["detail"]["steps"][0]
    assert "authorization" not in json.dumps(step["params"]).lower()


def test_the_sap_soap_transports_basic_auth_never_reaches_an_execution(api, owner, org, sandbox, api_server, settings):
    from connectors import values
    from connectors.catalog.sap import SapType
    from connectors.models import Connector, ConnectorSettings

    settings.ERPFLOW_EGRESS_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # SAP has no allowlist of its own
    connector = Connector.objects.create(organization=org, type_key="sap", name="SAP over SOAP")
    given = {
        "transport": "soap",
        "soap_url": f"{api_server.url}/echo-error",
        "client": "100",
        "user": "RFC_USER",
        "passwd": srv.PASSWORD,
        "min_idle": 0,
    }
    ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=values.clean(SapType, given))
    call = 'CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: "hi")]'
    seen = run_through_the_api(api, owner, graph([sql("a", connector, call, name="Echo")]))

    assert seen["detail"]["status"] == Execution.Status.FAILED
    assert "answered HTTP 500" in seen["detail"]["error"]
    assert api_server.state.requests[-1]["headers"]["authorization"].startswith("Basic ")
    assert leaked(seen, forms(srv.PASSWORD, b64(f"RFC_USER:{srv.PASSWORD}"))) == []


def test_a_connection_test_does_not_show_the_client_secret_in_base64(api, http_connector, api_server):
    connector = wrong_client_secret_connector(http_connector, api_server)
    answer = api.post(f"/api/v1/connectors/{connector.pk}/test/", {"environment": "sandbox"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["ok"] is False
    assert "token endpoint answered 401" in answer.json()["message"]
    assert leaked(answer.json(), forms(WRONG_CLIENT_SECRET, b64(f"{srv.CLIENT_ID}:{WRONG_CLIENT_SECRET}"))) == []


def test_a_secret_variable_in_a_request_path_is_masked_in_every_form(
    api, owner, org, sandbox, http_connector, api_server
):
    from accounts.models import Variable

    variable = Variable(organization=org, environment=sandbox, key="PARTNER_KEY", secret=True)
    variable.set_value(ODD_KEY)
    variable.save()
    connector = http_connector({})
    instruction = "GET /echo/customers/{{ env.PARTNER_KEY }}\n?key={{ env.PARTNER_KEY }}"
    seen = run_through_the_api(api, owner, graph([sql("a", connector, instruction, name="Echo")]))

    assert seen["detail"]["status"] == Execution.Status.SUCCEEDED, seen["detail"]
    sent = json.dumps(api_server.state.requests)
    assert quote(ODD_KEY, safe="") in sent, "the secret went out URL-encoded"
    assert leaked(seen, forms(ODD_KEY)) == []
