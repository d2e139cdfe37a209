"""The SAP BAPI type: its settings rules, its staged connection test, the API and the demo."""

from __future__ import annotations

import pytest

from accounts.demo import create_demo
from accounts.models import Environment
from connectors import values
from connectors.catalog.base import ConnectorError, Deadline
from connectors.catalog.sap import SapType
from connectors.models import Connector
from flows import engine
from flows.models import Execution, Flow
from tests.connectors.conftest import closed_port

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "field", "words"),
    [
        ({"transport": "soap", "client": "100", "user": "U", "passwd": "p"}, "soap_url", "needs the URL"),
        ({"ashost": "sap", "sysnr": "0", "client": "100", "user": "U", "passwd": "p"}, "sysnr", "2 digits"),
        ({"ashost": "sap", "sysnr": "00", "client": "1", "user": "U", "passwd": "p"}, "client", "3 digits"),
        ({"ashost": "sap", "client": "100", "user": "U", "passwd": "p"}, "sysnr", "needs its system number"),
        ({"client": "100", "user": "U", "passwd": "p"}, "ashost", "or a message server"),
        ({"mshost": "ms", "client": "100", "user": "U", "passwd": "p"}, "sysid", "needs the system ID"),
        (
            {"mshost": "ms", "sysid": "PRD", "ashost": "a", "client": "100", "user": "U", "passwd": "p"},
            "ashost",
            "not both",
        ),
        (
            {"ashost": "sap", "sysnr": "00", "client": "100", "user": "U", "passwd": "p", "min_idle": 5, "max_pool": 2},
            "min_idle",
            "Cannot be more",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused_with_the_field_named(given, field, words):
    with pytest.raises(values.SettingsInvalid) as raised:
        values.clean(SapType, given)
    assert words in raised.value.errors[field], raised.value.errors


def test_good_settings_get_their_defaults_and_a_reference_is_judged_later():
    stored = values.clean(SapType, {"ashost": "{{ env.SAP_HOST }}", "client": "100", "user": "U", "passwd": "p"})
    assert stored["transport"] == "rfc" and stored["lang"] == "EN" and stored["group"] == "PUBLIC"
    assert (stored["min_idle"], stored["max_pool"], stored["idle_timeout_ms"]) == (1, 10, 600_000)
    assert stored["passwd"] != "p", "the password is stored encrypted"


def test_the_catalog_describes_the_fields_and_step_options(api):
    response = api.get("/api/v1/connector-types/")
    (sap,) = [t for t in response.json() if t["key"] == "sap"]
    assert sap["language"] == "bapi" and sap["category"] == "erp" and sap["extra"] == "sap"
    fields = {f["name"]: f for f in sap["fields"]}
    assert fields["passwd"]["secret"] and fields["ashost"]["destination"] and fields["soap_url"]["destination"]
    assert fields["verify_tls"]["default"] is True and fields["verify_tls"]["admin_only"]
    assert {o["name"]: o["default"] for o in sap["step_options"]} == {
        "commit": False,
        "warnings_as_errors": False,
        "message_parameter": "RETURN",
    }


def test_the_soap_connection_test_passes_stage_by_stage(soap_settings):
    result = SapType().test(values.resolve(SapType, values.clean(SapType, soap_settings), None))
    assert result.ok, result.message
    assert [s.name for s in result.stages] == ["resolve host", "connect", "logon", "STFC_CONNECTION echo"]
    assert all(s.duration_ms >= 0 for s in result.stages)


def test_a_wrong_password_fails_the_logon_stage_with_what_to_check(soap_settings):
    settings = values.resolve(SapType, values.clean(SapType, {**soap_settings, "passwd": "nope-123"}), None)
    result = SapType().test(settings)
    assert not result.ok
    assert result.stages[-1].name == "logon"
    assert "check the logon user, password and client" in result.stages[-1].message
    assert result.stages[-1].message.count("check") == 1, "SAP's reason and the advice, said once"
    assert "(SAP answered: Authentication failed)" in result.stages[-1].message
    assert "nope-123" not in result.message


def test_a_locked_user_is_named_as_locked(soap_settings, mock_sap):
    mock_sap.control(
        "POST",
        "/_mock/faults",
        {
            "match": "/sap/bc/srt/",
            "status": 401,
            "message": "User MOCKUSER is locked. Please notify the person responsible",
        },
    )
    result = SapType().test(values.resolve(SapType, values.clean(SapType, soap_settings), None))
    assert result.stages[-1].name == "logon"
    assert result.stages[-1].message.startswith(
        f"the SAP system refused the logon (HTTP 401): the SAP user {soap_settings['user']} is locked; "
        "an SAP administrator can unlock it (transaction SU01) (SAP answered: User MOCKUSER is locked."
    )


def test_a_wrong_client_and_a_closed_port_fail_their_stages(soap_settings):
    wrong_client = values.resolve(SapType, values.clean(SapType, {**soap_settings, "client": "200"}), None)
    result = SapType().test(wrong_client)
    assert result.stages[-1].name == "logon"
    assert result.stages[-1].message.startswith(
        "the SAP system refused the logon (HTTP 400): client 200 does not exist in this SAP system; check the SAP "
        "client (SAP answered: Client 200 is not available"
    )
    port = closed_port()
    closed = values.resolve(
        SapType, values.clean(SapType, {**soap_settings, "soap_url": f"http://127.0.0.1:{port}/sap/bc/soap/rfc"}), None
    )
    result = SapType().test(closed)
    assert result.stages[-1].name == "connect"
    assert f"nothing answers on 127.0.0.1 port {port}" in result.stages[-1].message


def test_the_network_policy_keeps_the_test_and_the_calls_off_loopback(
    soap_settings, installation_network_policy, mock_sap
):
    """Without the suite's allowance for 127.0.0.1, the mock on loopback is out of reach: the test stops
    at "resolve host" and a session never sends a request. The connector uses a path of its own, so a
    request another test left in flight (the mock logs it when it ends) is not taken for one of these."""
    probe_url = soap_settings["soap_url"].rstrip("/") + "-policy-probe"
    settings = values.resolve(SapType, values.clean(SapType, {**soap_settings, "soap_url": probe_url}), None)
    result = SapType().test(settings)
    assert [(s.name, s.ok) for s in result.stages] == [("resolve host", False)]
    assert "127.0.0.1" in result.stages[0].message and "loopback" in result.stages[0].message
    with pytest.raises(ConnectorError, match="loopback"):
        SapType().open(settings, name="t").connection(Deadline(2000)).__enter__()
    logged = mock_sap.control("GET", "/_mock/requests?limit=500").json()["results"]
    assert not [r for r in logged if r["path"].endswith("-policy-probe")]


def test_an_outsider_cannot_see_or_test_a_sap_connector(sap_connector, soap_settings, sandbox, outsider_api):
    connector = sap_connector(soap_settings, [sandbox])
    assert outsider_api.get(f"/api/v1/connectors/{connector.pk}/").status_code == 404
    response = outsider_api.post(f"/api/v1/connectors/{connector.pk}/test/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 404


def test_the_demo_has_a_sap_connector_and_a_flow_that_runs_against_mock_sap(mock_sap, monkeypatch):
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_URL", mock_sap.soap_url)
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_PASSWORD", mock_sap.password)
    organization, _ = create_demo("demo-admin")
    connector = Connector.objects.get(organization=organization, name="Demo SAP")
    assert connector.type_key == "sap"
    flow = Flow.objects.get(organization=organization, slug="demo-sap-sales-orders")
    sandbox = Environment.objects.get(organization=organization, slug="sandbox")
    execution = Execution.objects.create(
        organization=organization,
        flow=flow,
        version=flow.versions.order_by("-number").first(),
        environment=sandbox,
        trigger=Execution.Trigger.API,
        input={"payload": {"customer": "0001000001"}, "headers": {}, "query": {}},
    )
    done = engine.run(execution.pk)
    assert done.status == "succeeded", done.error
    assert done.output["customer"] == "0001000001"
    assert done.output["orders"] and done.output["net_value"] > 0
