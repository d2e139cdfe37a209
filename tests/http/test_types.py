"""The HTTP and Acumatica types in the catalog: their fields, their rules, their connection test."""

from __future__ import annotations

import pytest

from connectors import catalog, runtime, values
from connectors.catalog.base import ConnectorError, Deadline
from connectors.egress import EgressRefused
from instructions.http import render
from tests.http import server as srv
from tests.http.conftest import LOCAL

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["http", "acumatica"])
def test_the_network_allowlists_are_admin_only_fields(key):
    fields = {f.name: f for f in catalog.connector_type(key).fields}
    for name in ("allowed_hosts", "allowed_networks"):
        assert fields[name].admin_only and fields[name].group == "network" and fields[name].kind == "text"
    level = fields["concurrency_level"]
    assert (level.min, level.max) == (1, 25)
    assert fields["password" if key == "acumatica" else "token"].secret


def test_acumatica_lists_the_fields_of_its_connection_form():
    names = [f.name for f in catalog.connector_type("acumatica").fields]
    for name in ("instance_uri", "endpoint_name", "endpoint_version", "username", "password", "company"):
        assert name in names
    assert catalog.connector_type("acumatica").category == "erp"


@pytest.mark.parametrize(
    "given, field, message",
    [
        ({"base_url": "ftp://x.example"}, "base_url", "http:// or https://"),
        ({"base_url": "https://user:pw@x.example"}, "base_url", "not in the URL"),
        ({"default_headers": "Accept application/json"}, "default_headers", "line 1: write it as Name: value"),
        ({"allowed_hosts": "api.example.com\n*.com"}, "allowed_hosts", "line 2"),
        ({"allowed_networks": "10.0.0.0/33"}, "allowed_networks", "line 1"),
        ({"auth_type": "oauth2_client_credentials", "oauth_client_id": ""}, "oauth_client_id", "Required for OAuth2"),
    ],
)
def test_bad_settings_are_refused_naming_the_field_and_line(given, field, message):
    with pytest.raises(values.SettingsInvalid) as refused:
        values.clean(catalog.type_class("http"), {"base_url": "https://api.example.com", **given})
    assert message in refused.value.errors[field]


def test_the_connection_test_passes_with_good_credentials_and_names_the_refusal_otherwise(api_server, sandbox):
    good = {"base_url": api_server.url, "auth_type": "bearer", "token": srv.TOKEN, "test_path": "/bearer", **LOCAL}
    result = runtime.test("http", values.clean(catalog.type_class("http"), good), sandbox)
    assert result.ok, result.as_dict()
    assert [s.name for s in result.stages] == ["resolve host", "authenticate and request"]

    bad = runtime.test("http", values.clean(catalog.type_class("http"), {**good, "token": "nope"}), sandbox)
    assert not bad.ok
    assert "answered 401" in bad.message and "nope" not in str(bad.as_dict())


def test_the_acumatica_test_signs_in_and_out_again(api_server, sandbox):
    given = {
        "instance_uri": api_server.url,
        "username": srv.USER,
        "password": srv.PASSWORD,
        **LOCAL,
    }
    result = runtime.test("acumatica", values.clean(catalog.type_class("acumatica"), given), sandbox)
    assert result.ok, result.as_dict()
    assert (api_server.state.logins, api_server.state.logouts) == (1, 1), "a test leaves no session behind"

    wrong = runtime.test(
        "acumatica", values.clean(catalog.type_class("acumatica"), {**given, "password": "x"}), sandbox
    )
    assert not wrong.ok and "Invalid credentials" in wrong.message


def test_without_the_allowlist_the_local_server_is_refused_before_any_connection(http_connector, sandbox, api_server):
    connector = http_connector({"allowed_networks": ""}, name="No allowlist")
    rendered = render("GET /echo/x", {})
    with pytest.raises(EgressRefused, match="127.0.0.1"):
        runtime.call(connector, sandbox, rendered.text, rendered.params, Deadline(3000), {})
    assert api_server.state.requests == [], "the server saw no request"


def test_a_redirect_to_an_address_outside_the_allowlist_is_refused(http_connector, sandbox, api_server):
    """Refused as a redirect to another origin, before the egress check of the hop would refuse it too."""
    connector = http_connector()
    port = api_server.server_address[1]
    rendered = render("GET /redirect\n?to={{ to }}", {"to": f"http://127.0.0.2:{port}/echo/inside"})
    with pytest.raises(ConnectorError, match=r"another origin \(http://127\.0\.0\.2:"):
        runtime.call(connector, sandbox, rendered.text, rendered.params, Deadline(3000), {})
    assert [r["path"] for r in api_server.state.requests] == ["/redirect"]
