"""The demo flows ``make run`` creates in the demo organization, so a newcomer can run a flow at once.

Each is published and deployed to the sandbox:

- "price an order" maps the payload: it greets the customer and prices the order lines; trigger it
  with ``{"customer": "Ada", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}]}``;
- "open orders" queries the "Demo database" connector (a SQLite file) for a customer's open
  orders, then shapes the answer; trigger it with ``{"customer": "C-1000"}``;
- "SAP sales orders" calls a BAPI on the "Demo SAP" connector (mock-sap, which ``make run`` starts)
  for a customer's sales orders, then totals them; trigger it with ``{"customer": "0001000001"}`` (a
  number such as 1000001 is padded to SAP's ten digits by ``alpha(10)``);
- "big orders" shows flow control: it reads a customer's sales orders from Demo SAP, upserts them
  into the demo database's ``sap_orders`` in batches (a sync step), then for each order a condition
  sends the orders over ``BIG_ORDER_LIMIT`` (or the payload's ``limit``) to the "Demo finance API"
  with a retry policy; when it fails, its on-failure handler "big orders failed" runs. Trigger it
  with ``{"customer": "1000006", "limit": 50000}``;
- "finance approvals" is what that API call reaches: erpflow's own webhook of this flow, which
  records the order in ``finance_approvals`` (the demo has no finance system to call);
- "customer sync" is the use case ``customer-sync``: each CREATE or UPDATE event's
  ``{"customer": {...}}`` is upserted into the demo database's customers by ``code``, a DELETE
  event deletes that customer.
"""

from __future__ import annotations

from accounts.models import Environment, Variable
from connectors import demo as connectors_demo
from connectors.models import Connector
from flows import versions, webhooks
from flows.models import Flow

BIG_ORDER_LIMIT = "100000"

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


SAP_ORDERS = "steps.read_sales_orders.tables.SALES_ORDERS"
OVER_LIMIT = "$number(item.NET_VALUE) > $number(trigger.payload.limit ? trigger.payload.limit : env.BIG_ORDER_LIMIT)"
# Erpflow's own webhook answers 202 at once; 429 and 5xx answers are tried again, after Retry-After.
FINANCE_RETRY = {"max_attempts": 4, "initial_ms": 500, "multiplier": 2.0, "max_ms": 5000, "jitter": 0.2}


def big_orders(sap: int, database: int, finance: int) -> dict:
    """Flow control on the demo connectors: a sync step, a for-each whose body routes each order."""
    read = {**SALES_ORDERS["steps"][0], "connector": sap}
    save = {
        "id": "save",
        "kind": "sync",
        "name": "Save orders",
        "connector": database,
        "sync": {
            "rows": "{{ " + SAP_ORDERS + " }}",
            "table": "sap_orders",
            "key": ["sd_doc"],
            "mode": "upsert",
            "fields": [
                {"column": "sd_doc", "expression": "SD_DOC"},
                {"column": "customer", "expression": "SOLD_TO"},
                {"column": "doc_date", "expression": "DOC_DATE"},
                {"column": "net_value", "expression": "$number(NET_VALUE)"},
                {"column": "currency", "expression": "CURRENCY"},
            ],
            "batch_size": 2,
        },
        "position": {"x": 0, "y": 120},
    }
    each = {
        "id": "each",
        "kind": "foreach",
        "name": "Each order",
        "items": SAP_ORDERS,
        "concurrency": 2,
        "position": {"x": 0, "y": 240},
    }
    route = {
        "id": "route",
        "kind": "condition",
        "name": "Over the limit",
        "group": "each",
        "position": {"x": 0, "y": 300},
    }
    notify = {
        "id": "notify",
        "kind": "connector",
        "name": "Tell finance",
        "group": "each",
        "connector": finance,
        "instruction": (
            "POST /hooks/{{ env.FINANCE_HOOK_TOKEN }}\n"
            "Content-Type: application/json\n"
            "\n"
            '{"order": {{ item.SD_DOC }}, "customer": {{ item.SOLD_TO }}, '
            '"net_value": {{ item.NET_VALUE }}, "currency": {{ item.CURRENCY }}}'
        ),
        "options": {"fail_on_error_status": True, "retries": 0},
        "retry": FINANCE_RETRY,
        "timeout_ms": 5000,
        "position": {"x": -120, "y": 420},
    }
    sent = {
        "id": "sent",
        "kind": "mapping",
        "name": "Sent",
        "group": "each",
        "instruction": '{"order": item.SD_DOC, "routed": "finance"}',
        "position": {"x": -120, "y": 540},
    }
    kept = {
        "id": "kept",
        "kind": "mapping",
        "name": "Below the limit",
        "group": "each",
        "instruction": '{"order": item.SD_DOC, "routed": "none"}',
        "position": {"x": 120, "y": 420},
    }
    summary = {
        "id": "summary",
        "kind": "mapping",
        "name": "Summary",
        "instruction": (
            '{"customer": trigger.payload.customer, "saved": steps.save_orders, '
            '"to_finance": [steps.each_order[routed = "finance"].order]}'
        ),
        "position": {"x": 0, "y": 660},
    }
    return {
        "steps": [read, save, each, route, notify, sent, kept, summary],
        "edges": [
            {"source": "orders", "target": "save"},
            {"source": "save", "target": "each"},
            {"source": "route", "target": "notify", "condition": OVER_LIMIT, "label": "over the limit", "order": 1},
            {"source": "route", "target": "kept", "otherwise": True},
            {"source": "notify", "target": "sent"},
            {"source": "each", "target": "summary"},
        ],
    }


def finance_approvals(database: int) -> dict:
    """What the finance API call reaches: the posted order recorded as a requested approval."""
    return {
        "steps": [
            {
                "id": "record",
                "kind": "sync",
                "name": "Record approval request",
                "connector": database,
                "sync": {
                    "rows": "{{ trigger.payload }}",
                    "table": "finance_approvals",
                    "key": ["order_no"],
                    "mode": "upsert",
                    "fields": [
                        {"column": "order_no", "expression": "order"},
                        {"column": "customer", "expression": "customer"},
                        {"column": "net_value", "expression": "$number(net_value)"},
                        {"column": "currency", "expression": "currency"},
                        {"column": "status", "constant": "requested"},
                    ],
                },
                "position": {"x": 0, "y": 0},
            }
        ],
        "edges": [],
    }


BIG_ORDERS_FAILED = {
    "steps": [
        {
            "id": "alert",
            "kind": "mapping",
            "name": "Alert text",
            "instruction": (
                '{"text": "Big orders run " & $string(trigger.payload.execution_id) & " failed at step \'" & '
                'trigger.payload.failing_step.name & "\': " & trigger.payload.error, '
                '"link": trigger.payload.link, "correlation_id": trigger.payload.correlation_id}'
            ),
            "position": {"x": 0, "y": 0},
        }
    ],
    "edges": [],
}

CUSTOMER_FIELDS = [
    {"column": "code", "expression": "code"},
    {"column": "name", "expression": "name"},
    {"column": "city", "expression": "city"},
    {"column": "country", "expression": "country"},
    {"column": "credit_limit", "expression": "$number(credit_limit)", "default": 0},
]


def customer_sync(database: int) -> dict:
    """An event's ``customer`` upserted by code, or deleted for a DELETE event."""

    def sync(sid: str, name: str, mode: str, fields: list, x: int) -> dict:
        settings = {"rows": "{{ trigger.payload.customer }}", "table": "customers", "key": ["code"], "mode": mode}
        return {
            "id": sid,
            "kind": "sync",
            "name": name,
            "connector": database,
            "sync": {**settings, "fields": fields},
            "position": {"x": x, "y": 120},
        }

    return {
        "steps": [
            {"id": "route", "kind": "condition", "name": "Event type", "position": {"x": 0, "y": 0}},
            sync("upsert", "Upsert customer", "upsert", CUSTOMER_FIELDS, -120),
            sync("delete", "Delete customer", "delete", CUSTOMER_FIELDS[:1], 120),
        ],
        "edges": [
            {"source": "route", "target": "delete", "condition": 'trigger.event.type = "DELETE"', "label": "DELETE"},
            {"source": "route", "target": "upsert", "otherwise": True},
        ],
    }


def build(organization, owner) -> None:
    """Called by ``accounts.demo.create_demo`` for the new demo organization, after the connectors'
    builders made the demo database and Demo SAP connectors that most of the flows use."""
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
    if database is not None:
        _publish(
            organization,
            owner,
            customer_sync(database.pk),
            name="Demo: customer sync",
            slug="demo-customer-sync",
            description="Use case customer-sync: keeps the demo database's customers in step with ERP events.",
            use_case_slug="customer-sync",
            use_case_enabled=True,
        )
    if database is not None and sap is not None:
        _build_big_orders(organization, owner, sap, database)


def _build_big_orders(organization, owner, sap, database) -> None:
    """The big-orders flow, the webhook flow its HTTP calls reach, and its on-failure handler."""
    sandbox = Environment.objects.get(organization=organization, slug="sandbox")
    approvals = _publish(
        organization,
        owner,
        finance_approvals(database.pk),
        name="Demo: finance approvals",
        slug="demo-finance-approvals",
        description="Stands in for a finance API: records each big order it is sent through its webhook.",
    )
    _, token = webhooks.create(approvals, sandbox)
    hook = Variable(organization=organization, environment=sandbox, key="FINANCE_HOOK_TOKEN", secret=True)
    hook.set_value(token)
    hook.save()
    Variable.objects.create(
        organization=organization, environment=sandbox, key="BIG_ORDER_LIMIT", value=BIG_ORDER_LIMIT
    )
    finance = connectors_demo.build_finance_api(organization)
    handler = _publish(
        organization,
        owner,
        BIG_ORDERS_FAILED,
        name="Demo: big orders failed",
        slug="demo-big-orders-failed",
        description="The on-failure handler of 'big orders': what an on-call channel would be told.",
    )
    _publish(
        organization,
        owner,
        big_orders(sap.pk, database.pk, finance.pk),
        name="Demo: big orders to finance",
        slug="demo-big-orders",
        description="Saves a customer's SAP sales orders and sends the big ones to the finance API, with retries.",
        on_failure=handler,
    )


def _publish(organization, owner, graph: dict, **fields) -> Flow:
    flow = Flow.objects.create(organization=organization, **fields)
    problems = versions.save_draft(flow, graph, owner)
    if problems:
        raise ValueError(f"the demo flow {fields['slug']} is invalid: {[p.message for p in problems]}")
    version = versions.publish(flow, owner, "Demo flow")
    versions.deploy(flow, version, Environment.objects.get(organization=organization, slug="sandbox"), owner)
    return flow
