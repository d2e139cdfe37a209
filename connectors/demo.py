"""The demo organization's "Demo database": a SQLite connector with a little ERP-like sample data.

``make run`` creates the demo organization once (``accounts.demo.create_demo``) and calls
``build``: one SQLite file per environment in the organization's own data folder (like any
organization's SQLite files, out of every other organization's reach), with customers, products,
orders and order lines, and a connector configured for every environment and tested once, so a
newcomer sees a connector that passes its test with no database server installed. ``sap_orders``
and ``finance_approvals`` start empty: the demo flows fill them.

``build_finance_api`` adds the "Demo finance API", an HTTP connector to erpflow's own address: the
demo has no outside API to call, so the big-orders flow posts to the webhook of another demo flow.
"""

from __future__ import annotations

import os
import sqlite3

from django.conf import settings

from accounts.models import Environment
from connectors import runtime, values
from connectors.catalog.http import HttpType
from connectors.catalog.sqlite import SQLiteType, confined
from connectors.models import Connector, ConnectorSettings

SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id INTEGER PRIMARY KEY, code TEXT UNIQUE NOT NULL, name TEXT NOT NULL, city TEXT, country TEXT,
    credit_limit NUMERIC NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY, sku TEXT UNIQUE NOT NULL, name TEXT NOT NULL, unit_price NUMERIC NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id INTEGER PRIMARY KEY, number TEXT UNIQUE NOT NULL, customer_id INTEGER NOT NULL REFERENCES customers(id),
    ordered_on TEXT NOT NULL, status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS order_items (
    order_id INTEGER NOT NULL REFERENCES orders(id), line INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
    PRIMARY KEY (order_id, line)
);
CREATE TABLE IF NOT EXISTS sap_orders (
    sd_doc TEXT PRIMARY KEY, customer TEXT NOT NULL, doc_date TEXT, net_value NUMERIC NOT NULL, currency TEXT
);
CREATE TABLE IF NOT EXISTS finance_approvals (
    order_no TEXT PRIMARY KEY, customer TEXT, net_value NUMERIC NOT NULL, currency TEXT, status TEXT NOT NULL
);
"""
CUSTOMERS = [
    (1, "C-1000", "Nordwind Handels GmbH", "Hamburg", "DE", 50000),
    (2, "C-1001", "Atlas Components S.A.", "Porto", "PT", 20000),
    (3, "C-1002", "Blue Harbor Foods Ltd", "Bristol", "GB", 35000),
    (4, "C-1003", "Kestrel Tools Oy", "Tampere", "FI", 10000),
]
PRODUCTS = [
    (1, "A-100", "Steel bracket", 4.5),
    (2, "A-200", "Hinge, stainless", 2.25),
    (3, "B-300", "Packing crate", 18.0),
    (4, "C-400", "Pallet wrap, 500 m", 27.9),
]
ORDERS = [
    (1, "SO-24001", 1, "2024-05-02", "shipped"),
    (2, "SO-24002", 2, "2024-05-03", "open"),
    (3, "SO-24003", 1, "2024-05-06", "open"),
    (4, "SO-24004", 3, "2024-05-07", "invoiced"),
]
ORDER_ITEMS = [
    (1, 1, 1, 200),
    (1, 2, 2, 400),
    (2, 1, 3, 12),
    (3, 1, 4, 5),
    (3, 2, 1, 50),
    (4, 1, 2, 1000),
]


def fill(path) -> None:
    """Create the sample tables in the file at ``path`` (already confined) and add rows missing from them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.executemany("INSERT OR IGNORE INTO customers VALUES (?, ?, ?, ?, ?, ?)", CUSTOMERS)
        db.executemany("INSERT OR IGNORE INTO products VALUES (?, ?, ?, ?)", PRODUCTS)
        db.executemany("INSERT OR IGNORE INTO orders VALUES (?, ?, ?, ?, ?)", ORDERS)
        db.executemany("INSERT OR IGNORE INTO order_items VALUES (?, ?, ?, ?)", ORDER_ITEMS)
    db.close()


def build(organization, owner) -> Connector:
    """Called by ``accounts.demo.create_demo`` for the new demo organization."""
    connector = Connector.objects.create(
        organization=organization,
        type_key=SQLiteType.key,
        name="Demo database",
        description="Sample customers, products and orders in a SQLite file: try it in a flow step.",
        tags=["demo"],
    )
    for environment in Environment.objects.filter(organization=organization):
        relative = f"demo/{organization.slug}-{environment.slug}.sqlite3"
        fill(confined(relative, organization.pk))
        stored = values.clean(SQLiteType, {"path": relative}, organization=organization)
        ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
        runtime.test_connector(connector, environment)
    return connector


def own_url() -> str:
    """Where this erpflow serves: ``ERPFLOW_PUBLIC_URL``, or the ``HOST`` and ``PORT`` that ``bin/run``
    serves on (a server listening on every address is reached on loopback)."""
    if settings.ERPFLOW_PUBLIC_URL:
        return settings.ERPFLOW_PUBLIC_URL
    host = os.environ.get("HOST", "127.0.0.1")
    host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104 - compared, not bound
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{os.environ.get('PORT', '8000')}"


def build_finance_api(organization) -> Connector:
    """Called by ``flows.demo.build``, which owns the webhook this connector's calls go to."""
    connector = Connector.objects.create(
        organization=organization,
        type_key=HttpType.key,
        name="Demo finance API",
        description="Stands in for a finance system: erpflow's own webhook of the demo flow 'finance approvals'.",
        tags=["demo"],
    )
    stored = values.clean(HttpType, {"base_url": own_url(), "test_path": "/healthz"}, organization=organization)
    for environment in Environment.objects.filter(organization=organization):
        ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
    return connector
