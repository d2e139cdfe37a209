"""The SOAP transport end to end against mock-sap running as a real server process.

Calls go the way a flow step sends them: ``connectors.runtime.call`` with the rendered
parameters, a pooled session, the step's deadline and options.
"""

from __future__ import annotations

import pytest

from connectors import pools, runtime
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.sap import soap
from connectors.sap.results import BapiError
from instructions.render import render_instruction

pytestmark = pytest.mark.django_db

CREATE_ORDER = """CALL FUNCTION BAPI_SALESORDER_CREATEFROMDAT2: [
  (ORDER_HEADER_IN: (DOC_TYPE: "OR", SALES_ORG: "1710", DISTR_CHAN: "10", DIVISION: "00")),
  (ORDER_ITEMS_IN: [(ITM_NUMBER: "000010", MATERIAL: {{ trigger.payload.material }}, TARGET_QTY: 2)]),
  (ORDER_PARTNERS: [(PARTN_ROLE: "AG", PARTN_NUMB: {{ trigger.payload.customer }})])
]"""


def run(connector, environment, text, payload=None, *, timeout_ms=5000, **options):
    context = {"env": {}, "trigger": {"payload": payload or {}}, "steps": {}, "execution": {}}
    rendered = render_instruction("bapi", None, text, context)
    return runtime.call(connector, environment, rendered.text, rendered.params, Deadline(timeout_ms), options)


@pytest.fixture
def connector(sap_connector, soap_settings, sandbox):
    return sap_connector(soap_settings, [sandbox])


def a_material(mock_sap) -> str:
    """A material the mock knows, read through RFC_READ_TABLE over the same transport."""
    session = soap.SoapSession(
        {"soap_url": mock_sap.soap_url, "client": "100", "user": mock_sap.user, "passwd": mock_sap.password},
        connect_timeout=5,
    )
    try:
        answer = session.call(
            "RFC_READ_TABLE",
            {"QUERY_TABLE": "A_Product", "ROWCOUNT": 1, "FIELDS": [{"FIELDNAME": "Product"}], "DELIMITER": ";"},
            Deadline(5000),
        )
    finally:
        session.close()
    return answer["DATA"][0]["WA"]


def test_stfc_connection_echoes_the_text_even_when_it_looks_like_xml(connector, sandbox):
    text = '</REQUTEXT><ECHOTEXT>forged</ECHOTEXT> & "quotes"'
    result = run(
        connector, sandbox, "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.t }})]", {"t": text}
    )
    assert result["export"]["ECHOTEXT"] == text
    assert "connection test successful" in result["export"]["RESPTEXT"]
    assert result["tables"] == {} and result["changing"] == {} and result["messages"] == []


def test_rfc_read_table_answers_rows_as_a_table(connector, sandbox):
    result = run(
        connector,
        sandbox,
        """CALL FUNCTION RFC_READ_TABLE: [
          (QUERY_TABLE: "A_SalesOrder"), (DELIMITER: ";"), (ROWCOUNT: 5),
          (FIELDS: [(FIELDNAME: "SalesOrder"), (FIELDNAME: "SoldToParty")])
        ]""",
    )
    rows = result["tables"]["DATA"]
    assert len(rows) == 5
    assert all(len(row["WA"].split(";")) == 2 for row in rows)
    assert [f["FIELDNAME"] for f in result["tables"]["FIELDS"]] == ["SalesOrder", "SoldToParty"]


def test_a_sales_order_is_created_and_committed_on_the_same_session(connector, sandbox, mock_sap):
    result = run(
        connector, sandbox, CREATE_ORDER, {"material": a_material(mock_sap), "customer": "0001000001"}, commit=True
    )
    number = result["export"]["SALESDOCUMENT"]
    assert number.strip("0")
    assert [(m["TYPE"], m["MESSAGE"]) for m in result["messages"]][-1] == ("S", "Changes were committed")
    called = [entry["function_name"] for entry in mock_sap.control("GET", "/_mock/rfc-log").json()["results"]]
    assert "BAPI_SALESORDER_CREATEFROMDAT2" in called and "BAPI_TRANSACTION_COMMIT" in called
    status = run(connector, sandbox, f'CALL FUNCTION BAPI_SALESORDER_GETSTATUS: [(SALESDOCUMENT: "{number}")]')
    assert status["tables"]["STATUSINFO"][0]["DOC_NUMBER"] == number


def test_an_error_message_fails_the_call_with_its_text_and_number_and_rolls_back(connector, sandbox, mock_sap):
    mock_sap.control(
        "POST",
        "/_mock/bapi-behaviour",
        {
            "function": "BAPI_SALESORDER_CREATEFROMDAT2",
            "type": "E",
            "id": "V1",
            "number": "849",
            "message": "Credit limit exceeded for customer 0000000001",
            "count": 1,
        },
    )
    with pytest.raises(BapiError) as raised:
        run(connector, sandbox, CREATE_ORDER, {"material": "X", "customer": "0001000001"}, commit=True)
    message = str(raised.value)
    assert "BAPI_SALESORDER_CREATEFROMDAT2 answered E V1 849: Credit limit exceeded for customer 0000000001" in message
    assert "the changes were rolled back" in message


def test_warnings_are_kept_or_fail_the_call_when_the_step_says_so(connector, sandbox, mock_sap):
    warn = {
        "function": "BAPI_SALESORDER_GETLIST",
        "type": "W",
        "id": "F2",
        "number": "150",
        "message": "Customer blocked",
    }
    mock_sap.control("POST", "/_mock/bapi-behaviour", {**warn, "count": 1})
    text = 'CALL FUNCTION BAPI_SALESORDER_GETLIST: [(CUSTOMER_NUMBER: "0001000001")]'
    result = run(connector, sandbox, text)
    assert result["tables"]["SALES_ORDERS"], "the call did its work and warned as well"
    assert ("W", "Customer blocked") in [(m["TYPE"], m["MESSAGE"]) for m in result["messages"]]
    mock_sap.control("POST", "/_mock/bapi-behaviour", {**warn, "count": 1})
    with pytest.raises(BapiError, match="W F2 150: Customer blocked"):
        run(connector, sandbox, text, warnings_as_errors=True)


def test_latency_past_the_step_timeout_is_a_timeout(connector, sandbox, mock_sap):
    mock_sap.control("POST", "/_mock/faults", {"match": "/sap/bc/srt/", "scenario": "slow", "count": 1})
    run(connector, sandbox, "CALL FUNCTION RFC_PING: []")  # the pool has its session before the slow call
    mock_sap.control("DELETE", "/_mock/faults")
    mock_sap.control("POST", "/_mock/faults", {"match": "/sap/bc/srt/", "method": "POST", "scenario": "slow"})
    with pytest.raises(StepTimeout, match="did not answer within the step's timeout \\(400 ms\\)"):
        run(connector, sandbox, "CALL FUNCTION RFC_PING: []", timeout_ms=400)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("CALL FUNCTION Z_DOES_NOT_EXIST: []", "SOAP fault: Function module Z_DOES_NOT_EXIST does not exist"),
        ('CALL FUNCTION RFC_READ_TABLE: [(QUERY_TABLE: "T001")]', "SOAP fault: Table T001 is not available"),
    ],
)
def test_a_soap_fault_is_a_step_error_with_its_reason(connector, sandbox, text, words):
    with pytest.raises(ConnectorError, match=words):
        run(connector, sandbox, text)


def test_a_server_error_is_a_step_error_with_the_status_and_reason(connector, sandbox, mock_sap):
    mock_sap.control(
        "POST", "/_mock/faults", {"match": "/sap/bc/srt/", "method": "POST", "status": 500, "message": "Backend down"}
    )
    with pytest.raises(ConnectorError, match="HTTP 500: Backend down"):
        run(connector, sandbox, "CALL FUNCTION RFC_PING: []")


def test_a_wrong_password_is_refused_with_what_to_check(sap_connector, soap_settings, sandbox):
    connector = sap_connector({**soap_settings, "passwd": "wrong-password"}, [sandbox])
    with pytest.raises(ConnectorError, match="refused the logon \\(HTTP 401\\)") as raised:
        run(connector, sandbox, "CALL FUNCTION RFC_PING: []")
    assert "wrong-password" not in str(raised.value)


def test_sessions_are_pooled_and_reused(connector, sandbox, mock_sap):
    for _ in range(5):
        run(connector, sandbox, "CALL FUNCTION RFC_PING: []")
    stats = pools.get(connector, sandbox).stats()
    assert stats["opened"] == 1 and stats["idle"] == 1
    rows = mock_sap.control("GET", "/_mock/requests?limit=50").json()["results"]
    fetches = [r for r in rows if r["method"] == "GET" and r["path"].startswith("/sap/bc/srt/")]
    assert len(fetches) == 1, "one logon (token fetch) for five calls"
