"""The demo organization's "Demo database": a SQLite connector that passes its test with no server."""

from __future__ import annotations

import pytest

from accounts.demo import create_demo
from accounts.models import Environment
from connectors import pools, runtime
from connectors.catalog.base import Deadline
from connectors.models import Connector, ConnectorSettings

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(settings, tmp_path):
    settings.ERPFLOW_DATA_DIR = tmp_path / "data"
    organization, _ = create_demo("demo-admin")
    yield organization
    pools.close_all()


def test_the_demo_organization_gets_a_tested_demo_database_in_every_environment(demo, tmp_path):
    connector = Connector.objects.get(organization=demo, name="Demo database")
    environments = set(Environment.objects.filter(organization=demo))
    rows = list(ConnectorSettings.objects.filter(connector=connector))

    assert connector.type_key == "sqlite"
    assert {row.environment for row in rows} == environments
    for row in rows:
        assert row.last_test["ok"] is True, row.last_test
        assert (tmp_path / "data" / f"org-{demo.pk}" / row.values["path"]).is_file()


def test_the_demo_database_answers_erp_like_queries_through_a_flow_call(demo):
    connector = Connector.objects.get(organization=demo, name="Demo database")
    sandbox = Environment.objects.get(organization=demo, slug="sandbox")
    output = runtime.call(
        connector,
        sandbox,
        "SELECT o.number, c.name, sum(i.quantity * p.unit_price) AS total FROM orders o "
        "JOIN customers c ON c.id = o.customer_id JOIN order_items i ON i.order_id = o.id "
        "JOIN products p ON p.id = i.product_id WHERE c.code = :p1 GROUP BY o.number, c.name ORDER BY o.number",
        {"p1": "C-1000"},
        Deadline(3000),
    )
    assert output["rows"] == [
        {"number": "SO-24001", "name": "Nordwind Handels GmbH", "total": 1800.0},
        {"number": "SO-24003", "name": "Nordwind Handels GmbH", "total": 364.5},
    ]


def test_creating_the_demo_twice_changes_nothing(demo):
    again, password = create_demo("demo-admin")
    assert again == demo and password is None
    assert Connector.objects.filter(organization=demo, name="Demo database").count() == 1
