"""The demo flows ``make run`` creates in the demo organization, so a newcomer can run a flow at once.

Each is published and deployed to the sandbox:

- "price an order" maps the payload: it greets the customer and prices the order lines; trigger it
  with ``{"customer": "Ada", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}]}``;
- "open orders" queries the "Demo database" connector (a SQLite file) for a customer's open
  orders, then shapes the answer; trigger it with ``{"customer": "C-1000"}``;
- "SAP sales orders" calls a BAPI on the "Demo SAP" connector (mock-sap, which ``make run`` starts)
  for a customer's sales orders, then totals them; trigger it with ``{"customer": "0001000001"}`` (a
  number such as 1000001 is padded to SAP's ten digits by ``alpha(10)``).
"""

from __future__ import annotations

from accounts.models import Environment
from connectors.models import Connector
from flows import versions
from flows.models import Flow

OPEN_ORDERS = {
    "steps": [
        {
            "id": "find",
            "kind": "connector",
            "name": "Find open orders",
            "connector": None,  # the demo database, set when the flow is built
            "instruction": (
                "SELECT o.number, o.ordered_on, SUM(i.quantity * p.unit_price) AS amount\n"
                "FROM orders o\n"
                "JOIN customers c ON c.id = o.customer_id\n"
                "JOIN order_items i ON i.order_id = o.id\n"
                "JOIN products p ON p.id = i.product_id\n"
                "WHERE c.code = {{ trigger.payload.customer }} AND o.status = 'open'\n"
                "GROUP BY o.number, o.ordered_on ORDER BY o.number"
            ),
            "timeout_ms": 3000,
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "answer",
            "kind": "mapping",
            "name": "Answer",
            "instruction": (
                '{"customer": trigger.payload.customer, "open_orders": [steps.find_open_orders.rows.number], '
                '"open_amount": $sum(steps.find_open_orders.rows.amount)}'
            ),
            "position": {"x": 0, "y": 120},
        },
    ],
    "edges": [{"source": "find", "target": "answer"}],
}

GRAPH = {
    "steps": [
        {
            "id": "greet",
            "kind": "mapping",
            "name": "Greet customer",
            "instruction": '{"greeting": "Hello " & trigger.payload.customer, "company": env.COMPANY_CODE}',
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "price",
            "kind": "mapping",
            "name": "Price order",
            "instruction": (
                '{"greeting": steps.greet_customer.greeting, "lines": $count(trigger.payload.lines), '
                '"total": $sum(trigger.payload.lines.(qty * price))}'
            ),
            "position": {"x": 0, "y": 120},
        },
    ],
    "edges": [{"source": "greet", "target": "price"}],
}


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
                "  (CUSTOMER_NUMBER: {{ trigger.payload.customer | alpha(10) }}),\n"
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


def build(organization, owner) -> None:
    """Called by ``accounts.demo.create_demo`` for the new demo organization, after the connectors'
    builders made the demo database and Demo SAP connectors that two of the flows use."""
    _publish(
        organization,
        owner,
        GRAPH,
        name="Demo: price an order",
        slug="demo-price-order",
        description="Greets the customer and totals the order lines of the payload (no server needed).",
    )
    database = Connector.objects.filter(organization=organization, name="Demo database").first()
    if database is not None:
        graph = {
            **OPEN_ORDERS,
            "steps": [{**OPEN_ORDERS["steps"][0], "connector": database.pk}, *OPEN_ORDERS["steps"][1:]],
        }
        _publish(
            organization,
            owner,
            graph,
            name="Demo: open orders of a customer",
            slug="demo-open-orders",
            description="Looks up a customer's open orders in the demo database and totals them.",
        )
    sap = Connector.objects.filter(organization=organization, name="Demo SAP").first()
    if sap is not None:
        graph = {**SALES_ORDERS, "steps": [{**SALES_ORDERS["steps"][0], "connector": sap.pk}, SALES_ORDERS["steps"][1]]}
        _publish(
            organization,
            owner,
            graph,
            name="Demo: SAP sales orders of a customer",
            slug="demo-sap-sales-orders",
            description="Reads a customer's sales orders from the demo SAP system and totals them.",
        )


def _publish(organization, owner, graph: dict, **fields) -> None:
    flow = Flow.objects.create(organization=organization, **fields)
    problems = versions.save_draft(flow, graph, owner)
    if problems:
        raise ValueError(f"the demo flow {fields['slug']} is invalid: {[p.message for p in problems]}")
    version = versions.publish(flow, owner, "Demo flow")
    versions.deploy(flow, version, Environment.objects.get(organization=organization, slug="sandbox"), owner)
