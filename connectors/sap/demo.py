"""The demo organization's "Demo SAP" connector and a flow that uses it.

``make run`` starts mock-sap beside the app (``bin/run``) at ``ERPFLOW_DEMO_SAP_URL``, requiring
basic auth with the demo password; ``build`` registers a SOAP connector to it for every
environment and deploys "Demo: SAP sales orders of a customer" to the sandbox: a BAPI step
reading the customer's sales orders, then a mapping that totals them. Trigger it with
``{"customer": "0001000001"}``.
"""

from __future__ import annotations

import os

from accounts.models import Environment
from connectors import values
from connectors.catalog.sap import SapType
from connectors.models import Connector, ConnectorSettings

DEFAULT_URL = "http://127.0.0.1:8765/sap/bc/srt/rfc/sap/erpflow"
USER = "ERPFLOW"
DEFAULT_PASSWORD = "mock-sap-password"  # noqa: S105 - the local mock's throwaway demo password

SALES_ORDERS = {
    "steps": [
        {
            "id": "orders",
            "kind": "connector",
            "name": "Read sales orders",
            "connector": None,  # the Demo SAP connector, set when the flow is built
            "instruction": (
                "* the customer's sales orders, through the SalesOrder BAPI\n"
                "CALL FUNCTION BAPI_SALESORDER_GETLIST: [\n"
                "  (CUSTOMER_NUMBER: {{ trigger.payload.customer }}),\n"
                '  (SALES_ORGANIZATION: "1710")\n'
                "]"
            ),
            "timeout_ms": 5000,
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "summary",
            "kind": "mapping",
            "name": "Summary",
            "instruction": (
                '{"customer": trigger.payload.customer, '
                '"orders": [steps.read_sales_orders.tables.SALES_ORDERS.SD_DOC], '
                '"net_value": $sum(steps.read_sales_orders.tables.SALES_ORDERS.$number(NET_VALUE))}'
            ),
            "position": {"x": 0, "y": 120},
        },
    ],
    "edges": [{"source": "orders", "target": "summary"}],
}


def settings() -> dict:
    return {
        "transport": "soap",
        "soap_url": os.environ.get("ERPFLOW_DEMO_SAP_URL", DEFAULT_URL),
        "client": "100",
        "user": USER,
        "passwd": os.environ.get("ERPFLOW_DEMO_SAP_PASSWORD", DEFAULT_PASSWORD),
        "min_idle": 0,
    }


def build(organization, owner) -> Connector:
    """Called by ``accounts.demo.create_demo`` for the new demo organization."""
    from flows import versions
    from flows.models import Flow

    connector = Connector.objects.create(
        organization=organization,
        type_key=SapType.key,
        name="Demo SAP",
        description="mock-sap, started by make run beside the app: BAPIs over SOAP with demo sales orders.",
        tags=["demo"],
    )
    stored = values.clean(SapType, settings())
    environments = Environment.objects.filter(organization=organization)
    for environment in environments:
        ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
    graph = {
        **SALES_ORDERS,
        "steps": [{**SALES_ORDERS["steps"][0], "connector": connector.pk}, SALES_ORDERS["steps"][1]],
    }
    flow = Flow.objects.create(
        organization=organization,
        name="Demo: SAP sales orders of a customer",
        slug="demo-sap-sales-orders",
        description="Reads a customer's sales orders from the demo SAP system and totals them.",
    )
    problems = versions.save_draft(flow, graph, owner)
    if problems:
        raise ValueError(f"the demo SAP flow is invalid: {[p.message for p in problems]}")
    version = versions.publish(flow, owner, "Demo flow")
    versions.deploy(flow, version, environments.get(slug="sandbox"), owner)
    return connector
