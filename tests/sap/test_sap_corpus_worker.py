"""Instructions written the way SAP users write them, run by a deployed flow on a real Celery worker
against mock-sap: each value is read back from mock-sap's call log exactly as it arrived."""

from __future__ import annotations

import json

import pytest

from tests.flows.builders import graph, sql
from tests.sap.test_sap_values_flows import received

PAYLOAD = {"name": "ACME", "customer": 1000001, "tiny": 1e-07}

# (instruction, function, parameter, what mock-sap received)
CASES = [
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: T001)]", "STFC_CONNECTION", "REQUTEXT", "T001"),
    ("call function stfc_connection: [(requtext: 0001000001)]", "STFC_CONNECTION", "REQUTEXT", "0001000001"),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: 12.50)]", "STFC_CONNECTION", "REQUTEXT", "12.50"),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: -3)]", "STFC_CONNECTION", "REQUTEXT", "-3"),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: 2024-01-31)]", "STFC_CONNECTION", "REQUTEXT", "2024-01-31"),
    ('CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: "a\\tb")]', "STFC_CONNECTION", "REQUTEXT", "a\tb"),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: 'C:\\temp\\new')]", "STFC_CONNECTION", "REQUTEXT", "C:\\temp\\new"),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: 'it''s')]", "STFC_CONNECTION", "REQUTEXT", "it's"),
    (
        'CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: "Order for {{ trigger.payload.name }}")]',
        "STFC_CONNECTION",
        "REQUTEXT",
        "Order for ACME",
    ),
    (
        "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.customer }})]",
        "STFC_CONNECTION",
        "REQUTEXT",
        "1000001",
    ),
    (
        "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.customer | alpha(10) }})]",
        "STFC_CONNECTION",
        "REQUTEXT",
        "0001000001",
    ),
    (
        "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.tiny }})]",
        "STFC_CONNECTION",
        "REQUTEXT",
        "0.0000001",
    ),
    ("CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: TRUE)]", "STFC_CONNECTION", "REQUTEXT", "X"),
    (
        "* two calls, the second reads the first's answer\n"
        "CALL FUNCTION STFC_CONNECTION AS first: [(REQUTEXT: ONE)]  # echoed back\n"
        "CALL FUNCTION STFC_CONNECTION AS second: [(REQUTEXT: {{ calls.first.export.ECHOTEXT }})]",
        "STFC_CONNECTION",
        "REQUTEXT",
        "ONE",
    ),
    (
        "CALL FUNCTION BAPI_SALESORDER_GETLIST: [\n  (CUSTOMER_NUMBER: 0001000001),\n  (SALES_ORGANIZATION: 1710)\n]",
        "BAPI_SALESORDER_GETLIST",
        "CUSTOMER_NUMBER",
        "0001000001",
    ),
]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_each_value_reaches_sap_as_written_through_a_deployed_flow_on_a_worker(
    api, make_flow, sap_connector, soap_settings, sandbox, mock_sap, workers
):
    connector = sap_connector(soap_settings, [sandbox], name="SAP")
    for number, (instruction, function, parameter, expected) in enumerate(CASES, start=1):
        make_flow(graph([sql("sap", connector, instruction, name="SAP")]), slug=f"corpus-{number}", deploy=[sandbox])
        response = api.post(
            f"/api/v1/flows/corpus-{number}/executions",
            data=json.dumps({"environment": "sandbox", "payload": PAYLOAD, "wait": 30}),
            content_type="application/json",
        )
        assert response.status_code == 200, (instruction, response.content, workers.logs())
        body = response.json()
        assert body["status"] == "succeeded", (instruction, body["error"], body["steps"])
        assert received(mock_sap, function)[parameter] == expected, instruction
