"""The demo flow ``make run`` creates in the demo organization, so a newcomer can run a flow at once.

A mapping flow that needs no server: it greets the customer of the payload and prices the order
lines, published and deployed to the sandbox. Trigger it with a payload such as
``{"customer": "Ada", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}]}``.
"""

from __future__ import annotations

from accounts.models import Environment
from flows import versions
from flows.models import Flow

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


def build(organization, owner) -> None:
    """Called by ``accounts.demo.create_demo`` for the new demo organization."""
    flow = Flow.objects.create(
        organization=organization,
        name="Demo: price an order",
        slug="demo-price-order",
        description="Greets the customer and totals the order lines of the payload (no server needed).",
    )
    problems = versions.save_draft(flow, GRAPH, owner)
    if problems:
        raise ValueError(f"the demo flow is invalid: {[p.message for p in problems]}")
    version = versions.publish(flow, owner, "Demo flow")
    versions.deploy(flow, version, Environment.objects.get(organization=organization, slug="sandbox"), owner)
