"""What mock-sap receives from a flow's SAP step, read back from its call log: bare values, leading
zeros and ``{{ }}`` inside strings arrive exactly as written (the SOAP transport)."""

from __future__ import annotations

import pytest

from flows import engine
from flows.models import StepRun
from tests.flows.builders import graph, sql

INSTRUCTION = """* values as SAP sees them
CALL FUNCTION STFC_CONNECTION AS echo: [(REQUTEXT: "Order for {{ trigger.payload.name }}, not \\{{ this }}")]
CALL FUNCTION BAPI_CUSTOMER_GETDETAIL2 AS customer: [(CUSTOMERNO: 0001000001)]
CALL FUNCTION BAPI_SALESORDER_GETLIST: [
  (CUSTOMER_NUMBER: {{ trigger.payload.customer | alpha(10) }}),
  (SALES_ORGANIZATION: 1710)
]
"""


def received(mock_sap, function):
    """The parameters of the last call of ``function`` that mock-sap logged."""
    rows = mock_sap.control("GET", "/_mock/rfc-log?verbose=1&limit=50").json()["results"]
    return next(row["request"] for row in rows if row["function_name"] == function)


@pytest.mark.django_db
def test_bare_values_leading_zeros_and_interpolation_reach_sap_as_written(
    sap_connector, soap_settings, sandbox, mock_sap, publish, start
):
    connector = sap_connector(soap_settings, [sandbox])
    version = publish(graph([sql("sap", connector, INSTRUCTION, name="SAP")]))
    execution = engine.run(start(version, {"customer": 1000001, "name": "ACME"}).pk)
    assert execution.status == "succeeded", StepRun.objects.get(execution=execution).error
    assert received(mock_sap, "STFC_CONNECTION")["REQUTEXT"] == "Order for ACME, not {{ this }}"
    assert received(mock_sap, "BAPI_CUSTOMER_GETDETAIL2")["CUSTOMERNO"] == "0001000001"
    orders = received(mock_sap, "BAPI_SALESORDER_GETLIST")
    assert (orders["CUSTOMER_NUMBER"], orders["SALES_ORGANIZATION"]) == ("0001000001", "1710")


@pytest.mark.django_db
def test_a_number_from_an_expression_reaches_sap_without_an_exponent(
    sap_connector, soap_settings, sandbox, mock_sap, publish, start
):
    connector = sap_connector(soap_settings, [sandbox])
    text = "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.tiny }})]"
    version = publish(graph([sql("sap", connector, text, name="SAP")]))
    execution = engine.run(start(version, {"tiny": 1e-07}).pk)
    assert execution.status == "succeeded", StepRun.objects.get(execution=execution).error
    assert received(mock_sap, "STFC_CONNECTION")["REQUTEXT"] == "0.0000001"
