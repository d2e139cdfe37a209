"""BAPI steps in the canvas editor: typing ``CALL FUNCTION BAPI_SALES`` offers the function names erpflow
knows, a pick writes the name, the call's parameters are offered inside its ``( )`` with their type, and
Format writes the instruction in the canonical layout."""

from __future__ import annotations

import pytest

from connectors import values
from connectors.catalog.sap import SapType
from connectors.models import Connector, ConnectorSettings
from flows import versions
from flows.models import Flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SOAP = {
    "transport": "soap",
    "soap_url": "http://127.0.0.1:9/sap/bc/soap/rfc",
    "client": "100",
    "user": "U",
    "passwd": "p",
}


@pytest.fixture
def bapi_flow(org, owner, sandbox):
    connector = Connector.objects.create(organization=org, type_key=SapType.key, name="ERP")
    ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=values.clean(SapType, SOAP))
    flow = Flow.objects.create(organization=org, name="Orders", slug="orders")
    step = {
        "id": "step-1",
        "kind": "connector",
        "name": "Orders",
        "connector": connector.pk,
        "instruction": "CALL FUNCTION STFC_CONNECTION: []",
        "position": {"x": 0, "y": 0},
    }
    versions.save_draft(flow, {"steps": [step], "edges": []}, owner)
    return flow


def complete_a_call(page) -> None:
    page.goto("/flows/orders/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()
    step = page.locator('.react-flow__node[data-id="step-1"]')
    step.hover()
    step.locator("button[aria-label^='Edit']").click()
    instruction = page.locator("#step-instruction")
    instruction.fill("")
    instruction.press_sequentially("CALL FUNCTION BAPI_SALES")
    suggestions = page.get_by_role("listbox", name="Suggestions")
    suggestions.get_by_role("option", name="BAPI_SALESORDER_GETLIST").click()
    assert instruction.input_value() == "CALL FUNCTION BAPI_SALESORDER_GETLIST"

    instruction.press_sequentially(": [(CUST")
    option = suggestions.get_by_role("option", name="CUSTOMER_NUMBER")
    assert "import, CHAR 10" in option.inner_text()
    instruction.press("Enter")
    assert instruction.input_value() == "CALL FUNCTION BAPI_SALESORDER_GETLIST: [(CUSTOMER_NUMBER: "
    instruction.press_sequentially("1000001, sales_organization: 1000)]")

    page.get_by_role("button", name="Format").click()
    page.wait_for_function("document.querySelector('#step-instruction').value.includes('\\n')")
    assert instruction.input_value() == (
        "CALL FUNCTION BAPI_SALESORDER_GETLIST: [\n  (CUSTOMER_NUMBER: 1000001),\n  (SALES_ORGANIZATION: 1000)\n]"
    )


def test_a_bapi_call_is_completed_and_formatted_in_the_step_form(chromium, owner, bapi_flow):
    chromium(owner, complete_a_call)
