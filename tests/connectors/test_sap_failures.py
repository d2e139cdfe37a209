"""What a failed SAP call tells a retry policy: the message (``CLASS/NUMBER``) that failed it, a busy or
unreachable system. SOAP runs against mock-sap, a real server process; RFC against the pyrfc double
of ``tests/sap/test_rfc_double.py`` (no SAP gateway can run here)."""

from __future__ import annotations

import ipaddress
import sys

import pytest

from connectors import runtime
from connectors.catalog.base import ConnectorError, Deadline, Failure, retryable
from connectors.egress import policy as egress_policy
from connectors.sap import calls, sessions
from connectors.sap.results import BapiError
from instructions.render import render_instruction
from tests.connectors.conftest import closed_port
from tests.sap.conftest import mock_sap, mock_sap_server, sap_connector, soap_settings  # noqa: F401 - fixtures
from tests.sap.test_rfc_double import (
    SAP_HOST_ADDRESS,
    SETTINGS,
    ABAPApplicationError,
    CommunicationError,
    fake_pyrfc,
)

pytestmark = pytest.mark.django_db

GETLIST = 'CALL FUNCTION BAPI_SALESORDER_GETLIST: [(CUSTOMER_NUMBER: "0001000001")]'


def run(connector, environment, text, *, timeout_ms=5000, **options):
    rendered = render_instruction("bapi", None, text, {"env": {}, "trigger": {}, "steps": {}, "execution": {}})
    return runtime.call(connector, environment, rendered.text, rendered.params, Deadline(timeout_ms), options)


@pytest.fixture
def connector(sap_connector, soap_settings, sandbox):  # noqa: F811 - the fixtures imported above
    return sap_connector(soap_settings, [sandbox])


def behave(mock_sap, kind: str, klass: str, number: str, text: str) -> None:  # noqa: F811
    mock_sap.control(
        "POST",
        "/_mock/bapi-behaviour",
        {"function": "BAPI_SALESORDER_GETLIST", "type": kind, "id": klass, "number": number, "message": text},
    )


def test_an_error_message_over_soap_is_an_sap_message_failure(connector, sandbox, mock_sap):  # noqa: F811
    behave(mock_sap, "E", "V1", "302", "Sales document is locked by another user")
    with pytest.raises(BapiError, match="E V1 302: Sales document is locked") as raised:
        run(connector, sandbox, GETLIST)
    assert raised.value.failure == Failure("sap_message", sap_message="V1/302")
    assert not retryable(raised.value.failure), "no SAP message is retried unless the policy names it"
    assert retryable(raised.value.failure, {"sap_messages": ["V1/302"]})
    assert retryable(raised.value.failure, {"sap_messages": ["v1/*"]})
    assert not retryable(raised.value.failure, {"sap_messages": ["V1/303", "F2/*"]})


def test_a_warning_the_step_treats_as_an_error_names_its_message(connector, sandbox, mock_sap):  # noqa: F811
    behave(mock_sap, "W", "F2", "150", "Customer blocked")
    with pytest.raises(BapiError) as raised:
        run(connector, sandbox, GETLIST, warnings_as_errors=True)
    assert raised.value.failure.sap_message == "F2/150"


def test_a_busy_soap_service_is_an_http_status_with_its_retry_after(connector, sandbox, mock_sap):  # noqa: F811
    run(connector, sandbox, "CALL FUNCTION RFC_PING: []")  # the pool has its logged-on session first
    mock_sap.control("POST", "/_mock/faults", {"match": "/sap/bc/srt/", "method": "POST", "scenario": "busy"})
    with pytest.raises(ConnectorError, match="answered HTTP 503") as raised:
        run(connector, sandbox, GETLIST)
    assert raised.value.failure == Failure("http_status", http_status=503, retry_after_s=30.0)
    assert retryable(raised.value.failure)


def test_a_soap_service_nobody_answers_is_a_connection_failure(sap_connector, soap_settings, sandbox):  # noqa: F811
    settings = {**soap_settings, "soap_url": f"http://127.0.0.1:{closed_port()}/sap/bc/srt/rfc/sap/erpflow"}
    with pytest.raises(ConnectorError, match="cannot be reached") as raised:
        run(sap_connector(settings, [sandbox]), sandbox, GETLIST)
    assert raised.value.failure == Failure("connection")


# -- RFC through the pyrfc double --------------------------------------------------------------


@pytest.fixture
def pyrfc(monkeypatch):
    module = fake_pyrfc()
    monkeypatch.setitem(sys.modules, "pyrfc", module)
    monkeypatch.setattr(egress_policy, "resolve", lambda name, port: [ipaddress.ip_address(SAP_HOST_ADDRESS)])
    return module


def rfc_call(function: str) -> dict:
    session = sessions.open_session(SETTINGS, 5)
    return calls.run(session, [{"function": function, "parameters": {}}], Deadline(5000), {})


def test_an_rfc_error_message_is_an_sap_message_failure(pyrfc):
    pyrfc.functions["BAPI_SALESORDER_CHANGE"] = lambda conn, params: {
        "RETURN": [
            {"TYPE": "S", "ID": "V4", "NUMBER": "233", "MESSAGE": "Item changed"},
            {"TYPE": "A", "ID": "v1", "NUMBER": "42", "MESSAGE": "Update terminated"},
            {"TYPE": "E", "ID": "V1", "NUMBER": "302", "MESSAGE": "Locked"},
        ]
    }
    with pytest.raises(BapiError) as raised:
        rfc_call("BAPI_SALESORDER_CHANGE")
    assert raised.value.failure == Failure("sap_message", sap_message="V1/042"), "the first failing message"


def test_an_error_message_without_class_and_number_matches_no_policy(pyrfc):
    pyrfc.functions["Z_OLD_STYLE"] = lambda conn, params: {"RETURN": {"TYPE": "E", "MESSAGE": "Nope"}}
    with pytest.raises(BapiError) as raised:
        rfc_call("Z_OLD_STYLE")
    assert raised.value.failure == Failure("sap_message")
    assert not retryable(raised.value.failure, {"sap_messages": ["V1/*"]})


def test_a_broken_rfc_connection_is_a_connection_failure(pyrfc):
    def broken(conn, params):
        raise CommunicationError("partner not reached", key="RFC_COMMUNICATION_FAILURE")

    pyrfc.functions["RFC_PING"] = broken
    with pytest.raises(ConnectorError, match="the connection to SAP broke during RFC_PING") as raised:
        rfc_call("RFC_PING")
    assert raised.value.failure == Failure("connection")


def test_an_rfc_logon_to_a_system_that_does_not_answer_is_a_connection_failure(pyrfc):
    def unreachable(**params):
        raise CommunicationError("partner 'sap.example.com:sapgw00' not reached", key="RFC_COMMUNICATION_FAILURE")

    pyrfc.Connection = unreachable
    with pytest.raises(ConnectorError, match="cannot be reached") as raised:
        sessions.open_session(SETTINGS, 5)
    assert raised.value.failure == Failure("connection")


def test_an_abap_exception_is_not_retried(pyrfc):
    def raising(conn, params):
        raise ABAPApplicationError("ID:V1 Type:E Number:001 no such order", key="NOT_FOUND")

    pyrfc.functions["Z_RAISES"] = raising
    with pytest.raises(ConnectorError, match="raised an ABAP exception") as raised:
        rfc_call("Z_RAISES")
    assert raised.value.failure is None
    assert not retryable(raised.value.failure)
