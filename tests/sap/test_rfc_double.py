"""The RFC transport against a test double of the pyrfc API (no SAP gateway can run here).

``FakePyRFC`` follows pyrfc's documented surface: ``Connection(**params)`` logs on,
``.call(name, **params)`` answers a flat dict of export, changing and table parameters,
``.cancel()`` interrupts a running call, ``.ping()`` and ``.close()``,
``.get_function_description(name)`` answers a ``FunctionDescription`` (parameters as dicts with
``parameter_type`` such as ``"RFCTYPE_NUM"``, ``direction``, ``nuc_length``, ``decimals`` and a
``TypeDescription`` whose ``fields`` describe a structure or table row), as PyRFC builds it; errors are
``ABAPApplicationError``, ``CommunicationError``, ``LogonError`` under ``RFCError``, with ``key``
and ``message``. It is put in ``sys.modules`` as ``pyrfc``, where the transport's lazy import finds it.
Where erpl-pyrfc is installed, the last test connects through the real library to a closed port.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import socket
import sys
import threading
import types

import pytest

from connectors.catalog import sap as sap_catalog
from connectors.catalog.base import ConnectorError, Deadline, DriverMissing, StepTimeout
from connectors.egress import policy as egress_policy
from connectors.sap import calls, rfc, sessions
from connectors.sap.results import BapiError
from connectors.sap.rfc import RfcSession


class RFCError(Exception):
    def __init__(self, message="", key=""):
        super().__init__(message)
        self.message, self.key = message, key


class LogonError(RFCError):
    pass


class CommunicationError(RFCError):
    pass


class ABAPApplicationError(RFCError):
    pass


class TypeDescription:
    """The double of pyrfc's ``TypeDescription``: a name, lengths and ``fields`` (dicts)."""

    def __init__(self, name, nuc_length, uc_length):
        self.name, self.nuc_length, self.uc_length = name, nuc_length, uc_length
        self.fields = []

    def add_field(
        self, name, field_type, nuc_length, uc_length, nuc_offset, uc_offset, decimals=0, type_description=None
    ):
        self.fields.append(
            {
                "name": name,
                "field_type": field_type,
                "nuc_length": nuc_length,
                "uc_length": uc_length,
                "nuc_offset": nuc_offset,
                "uc_offset": uc_offset,
                "decimals": decimals,
                "type_description": type_description,
            }
        )


class FunctionDescription:
    """The double of pyrfc's ``FunctionDescription``: a name and ``parameters`` (dicts)."""

    def __init__(self, name):
        self.name = name
        self.parameters = []

    def add_parameter(
        self,
        name,
        parameter_type,
        direction,
        nuc_length,
        uc_length,
        decimals=0,
        default_value="",
        parameter_text="",
        optional=False,
        type_description=None,
    ):
        self.parameters.append(
            {
                "name": name,
                "parameter_type": parameter_type,
                "direction": direction,
                "nuc_length": nuc_length,
                "uc_length": uc_length,
                "decimals": decimals,
                "default_value": default_value,
                "parameter_text": parameter_text,
                "optional": optional,
                "type_description": type_description,
            }
        )


class FakeConnection:
    """A logged-on connection of the double; ``FakePyRFC.functions`` decides what calls answer."""

    def __init__(self, module, **params):
        self.module = module
        if params.get("passwd") != "right":
            raise LogonError("Name or password is incorrect (repeat logon)", key="RFC_LOGON_FAILURE")
        module.opened.append(params)
        self.cancelled = threading.Event()
        self.closed = False

    def call(self, name, options=None, **params):
        """As pyrfc's: ``options`` (such as ``not_requested``) apart from the function's parameters."""
        self.module.calls.append((name, params))
        self.module.options.append(options)
        if self.cancelled.is_set():
            raise CommunicationError("connection was cancelled earlier", key="RFC_INVALID_HANDLE")
        return self.module.functions[name](self, params)

    def get_function_description(self, name):
        """What ``FakePyRFC.descriptions`` holds for the function; FU_NOT_FOUND like SAP otherwise."""
        self.module.described.append(name)
        if self.cancelled.is_set():
            raise CommunicationError("connection was cancelled earlier", key="RFC_INVALID_HANDLE")
        if name not in self.module.descriptions:
            raise ABAPApplicationError(f"ID:FL Type:E Number:046 {name}", key="FU_NOT_FOUND")
        return self.module.descriptions[name]

    def cancel(self):
        self.cancelled.set()

    def ping(self):
        if self.cancelled.is_set() or self.closed:
            raise CommunicationError("connection closed", key="RFC_INVALID_HANDLE")

    def close(self):
        self.closed = True


def fake_pyrfc() -> types.ModuleType:
    module = types.ModuleType("pyrfc")
    module.RFCError, module.LogonError = RFCError, LogonError
    module.CommunicationError, module.ABAPApplicationError = CommunicationError, ABAPApplicationError
    module.opened, module.calls, module.described, module.options = [], [], [], []
    module.functions, module.descriptions = {}, {}
    module.Connection = lambda **params: FakeConnection(module, **params)
    return module


@pytest.fixture
def pyrfc(monkeypatch):
    """The pyrfc double, and a DNS answer for the SAP host of these tests, which no resolver here knows."""
    module = fake_pyrfc()
    monkeypatch.setitem(sys.modules, "pyrfc", module)
    monkeypatch.setattr(egress_policy, "resolve", lambda name, port: [ipaddress.ip_address(SAP_HOST_ADDRESS)])
    return module


SAP_HOST_ADDRESS = "10.20.30.41"


def test_an_rfc_logon_to_a_refused_address_never_reaches_the_library(pyrfc, monkeypatch):
    monkeypatch.setattr(egress_policy, "resolve", lambda name, port: [ipaddress.ip_address("169.254.169.254")])
    with pytest.raises(ConnectorError, match="169.254.169.254"):
        RfcSession(SETTINGS)
    assert pyrfc.opened == []


SETTINGS = {
    "transport": "rfc",
    "ashost": "sap.example.com",
    "sysnr": "00",
    "client": "100",
    "user": "RFCUSER",
    "passwd": "right",
    "lang": "DE",
    "min_idle": 0,
    "max_pool": 2,
    "idle_timeout_ms": 60_000,
    "connect_timeout": 5,
}


def test_logon_parameters_for_a_fixed_server_a_router_and_load_balancing():
    assert rfc.connection_params(SETTINGS) == {
        "ashost": "sap.example.com",
        "sysnr": "00",
        "client": "100",
        "user": "RFCUSER",
        "passwd": "right",
        "lang": "DE",
    }
    routed = rfc.connection_params({**SETTINGS, "saprouter": "/H/router/S/3299/H/", "gwserv": "sapgw00"})
    assert routed["saprouter"] == "/H/router/S/3299/H/" and routed["gwserv"] == "sapgw00"
    balanced = rfc.connection_params(
        {**SETTINGS, "ashost": "", "mshost": "ms.example.com", "sysid": "PRD", "group": "SPACE", "msserv": "3601"}
    )
    assert {k: balanced[k] for k in ("mshost", "sysid", "group", "msserv")} == {
        "mshost": "ms.example.com",
        "sysid": "PRD",
        "group": "SPACE",
        "msserv": "3601",
    }
    assert "ashost" not in balanced


def test_parameters_are_sent_typed_and_results_come_back_in_the_shared_shape(pyrfc):
    def getlist(conn, params):
        return {
            "SALES_ORDERS": [{"SD_DOC": "0000004711"}],
            "EXTENSIONIN": params["EXTENSIONIN"],
            "ORDER_VIEW": {"HEADER": "X"},
            "STATUS": "A",
            "RETURN": [{"TYPE": "W", "ID": "V1", "NUMBER": "175", "MESSAGE": "Few orders"}],
        }

    pyrfc.functions["BAPI_SALESORDER_GETLIST"] = getlist
    session = sessions.open_session(SETTINGS, 5)
    result = calls.run(
        session,
        [
            {
                "function": "bapi_salesorder_getlist",
                "parameters": {
                    "CUSTOMER_NUMBER": "0001000001",
                    "TESTRUN": True,
                    "SKIP": None,
                    "ORDER_VIEW": {"HEADER": True, "ITEM": False},
                    "EXTENSIONIN": [],
                },
            }
        ],
        Deadline(5000),
        {"commit": False, "warnings_as_errors": False},
    )
    name, sent = pyrfc.calls[0]
    assert name == "BAPI_SALESORDER_GETLIST"
    assert sent == {
        "CUSTOMER_NUMBER": "0001000001",
        "TESTRUN": "X",
        "ORDER_VIEW": {"HEADER": "X", "ITEM": ""},
        "EXTENSIONIN": [],
    }
    assert result == {
        "export": {"STATUS": "A"},
        "changing": {"ORDER_VIEW": {"HEADER": "X"}},
        "tables": {"SALES_ORDERS": [{"SD_DOC": "0000004711"}], "EXTENSIONIN": []},
        "messages": [{"TYPE": "W", "ID": "V1", "NUMBER": "175", "MESSAGE": "Few orders"}],
    }
    assert pyrfc.opened[0]["lang"] == "DE"


def test_an_abap_exception_is_a_step_error_naming_the_function(pyrfc):
    def read_table(conn, params):
        raise ABAPApplicationError("TABLE_NOT_AVAILABLE", key="TABLE_NOT_AVAILABLE")

    pyrfc.functions["RFC_READ_TABLE"] = read_table
    session = sessions.open_session(SETTINGS, 5)
    with pytest.raises(ConnectorError, match="RFC_READ_TABLE raised an ABAP exception: TABLE_NOT_AVAILABLE"):
        calls.run(session, [{"function": "RFC_READ_TABLE", "parameters": {"QUERY_TABLE": "T001"}}], Deadline(5000), {})


def test_an_error_message_rolls_back_and_a_success_commits_on_the_same_connection(pyrfc):
    outcome = {"type": "E"}
    pyrfc.functions.update(
        {
            "BAPI_X": lambda conn, p: {
                "RETURN": [{"TYPE": outcome["type"], "ID": "ZZ", "NUMBER": "001", "MESSAGE": "m"}]
            },
            "BAPI_TRANSACTION_COMMIT": lambda conn, p: {"RETURN": {"TYPE": "", "MESSAGE": ""}},
            "BAPI_TRANSACTION_ROLLBACK": lambda conn, p: {"RETURN": {"TYPE": "", "MESSAGE": ""}},
        }
    )
    session = sessions.open_session(SETTINGS, 5)
    with pytest.raises(BapiError, match="BAPI_X answered E ZZ 001: m; the changes were rolled back"):
        calls.run(session, [{"function": "BAPI_X"}], Deadline(5000), {"commit": True})
    outcome["type"] = "S"
    calls.run(session, [{"function": "BAPI_X"}], Deadline(5000), {"commit": True})
    assert [name for name, _ in pyrfc.calls] == [
        "BAPI_X",
        "BAPI_TRANSACTION_ROLLBACK",
        "BAPI_X",
        "BAPI_TRANSACTION_COMMIT",
    ]
    assert pyrfc.calls[-1][1] == {"WAIT": "X"}
    assert len(pyrfc.opened) == 1


def test_a_call_past_the_deadline_is_cancelled_and_the_pool_drops_the_connection(pyrfc):
    def wait_for_cancel(conn, params):
        assert conn.cancelled.wait(10), "the transport never cancelled the call"
        raise CommunicationError("Connection was canceled.", key="RFC_CANCELED")

    pyrfc.functions["Z_SLOW"] = wait_for_cancel
    pool = sessions.open_pool(SETTINGS, name="test")
    try:
        expected = "Z_SLOW was still running .* \\(300 ms\\); the RFC call was cancelled"
        with pytest.raises(StepTimeout, match=expected), pool.connection(Deadline(300)) as session:
            calls.run(session, [{"function": "Z_SLOW"}], Deadline(300), {})
        assert pool.stats()["closed"] == 1 and pool.stats()["size"] == 0
    finally:
        pool.close()


def test_a_wrong_password_and_a_broken_connection_say_what_happened(pyrfc):
    expected = (
        "the SAP logon failed: the logon was refused; check the logon user, password and client "
        "\\(SAP answered: RFC_LOGON_FAILURE: Name or password"
    )
    with pytest.raises(ConnectorError, match=expected):
        sessions.open_session({**SETTINGS, "passwd": "wrong"}, 5)

    def broken(conn, params):
        raise CommunicationError("partner not reached", key="RFC_COMMUNICATION_FAILURE")

    pyrfc.functions["RFC_PING"] = broken
    session = sessions.open_session(SETTINGS, 5)
    with pytest.raises(ConnectorError, match="connection to SAP broke during RFC_PING: RFC_COMMUNICATION_FAILURE"):
        calls.run(session, [{"function": "RFC_PING"}], Deadline(5000), {})


def test_the_connection_test_runs_its_stages_through_the_library(pyrfc, monkeypatch):
    pyrfc.functions["STFC_CONNECTION"] = lambda conn, p: {"ECHOTEXT": p["REQUTEXT"], "RESPTEXT": "SAP R/3"}
    dialled = []

    def open_first(addresses, port, timeout):
        dialled.append((addresses, port))
        return _Closed(), addresses[0]

    monkeypatch.setattr(sap_catalog, "open_first", open_first)
    result = sap_catalog.SapType().test(SETTINGS)
    assert result.ok, result.message
    assert dialled == [([SAP_HOST_ADDRESS], 3300)], "the gateway port of system 00, at the address the policy checked"
    assert [s.name for s in result.stages] == [
        "load driver",
        "resolve host",
        "connect",
        "logon",
        "STFC_CONNECTION echo",
    ]


class _Closed:
    def close(self):
        pass


def test_without_a_pyrfc_provider_the_type_is_listed_and_using_it_names_the_extra(monkeypatch):
    from connectors import catalog

    monkeypatch.setitem(sys.modules, "pyrfc", None)  # what "not installed" looks like to an import
    assert "sap" in [t.key for t in catalog.all_types()]
    with pytest.raises(DriverMissing, match="install erpflow's 'sap' extra"):
        sessions.open_session(SETTINGS, 5)
    result = sap_catalog.SapType().test(SETTINGS)
    assert not result.ok and result.stages[0].name == "load driver"
    assert "'sap' extra" in result.stages[0].message


def closed_sysnr() -> str:
    """A system number whose gateway port (33NN) on 127.0.0.1 refuses connections."""
    for number in range(100):
        try:
            socket.create_connection(("127.0.0.1", 3300 + number), timeout=0.2).close()
        except OSError:
            return f"{number:02d}"
    raise AssertionError("every port from 3300 to 3399 answers here")


def test_erpl_pyrfc_reports_a_closed_port_clearly():
    if importlib.util.find_spec("pyrfc") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("erpl-pyrfc is not installed: install the 'sap' extra")
        pytest.skip("erpl-pyrfc is not installed here (pip install 'erpflow[sap]')")
    settings = {**SETTINGS, "ashost": "127.0.0.1", "sysnr": closed_sysnr(), "passwd": "pw-never-shown"}
    with pytest.raises(ConnectorError, match="the SAP system cannot be reached: .*refused") as raised:
        rfc.RfcSession(settings)
    assert "pw-never-shown" not in str(raised.value)
    result = sap_catalog.SapType().test(settings)
    assert not result.ok
    assert result.stages[-1].name == "connect"
    assert f"nothing answers on 127.0.0.1 port 33{settings['sysnr']}" in result.stages[-1].message
