"""The Connector Manager in Chromium: find a type card by searching, fill the generated form, test and save,
then watch the connector page show its live pool."""

from __future__ import annotations

import pytest

from connectors import pools, runtime
from connectors.catalog.base import Deadline
from connectors.models import Connector

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SECRET = "s3cr3t-typed-in-the-browser"


@pytest.fixture
def pg_values(pg_settings) -> dict:
    return {**pg_settings, "password": SECRET}


@pytest.fixture
def closing_pools():
    yield
    pools.close_all()


def create_through_the_pages(page, pg_values: dict) -> None:
    page.goto("/connectors/")
    page.get_by_text("No connectors yet").wait_for()
    page.get_by_role("link", name="Create your first connector").click()

    search = page.get_by_label("Search connector types")
    search.fill("postg")
    assert page.locator(".type-card:visible").count() == 1
    assert page.get_by_role("link", name="MySQL / MariaDB").is_hidden()
    search.fill("no such type")
    page.get_by_text("No type matches your search.").wait_for()
    search.fill("postgres")
    page.locator(".type-card:visible a").click()

    page.get_by_role("heading", name="New PostgreSQL connector").wait_for()
    page.get_by_role("textbox", name="Name", exact=True).fill("Warehouse")
    assert page.locator("#id_allowed_users").is_hidden()
    page.get_by_label("Chosen users and groups").check()
    assert page.locator("#id_allowed_users").is_visible()
    page.get_by_label("Everyone in the organization").check()
    page.locator('input[name="env-sandbox"]').check()
    for name, value in pg_values.items():
        page.locator(f'input[name="sandbox__{name}"]').fill(str(value))
    page.get_by_role("button", name="Test and create").click()

    page.get_by_text("Created Warehouse; its connection test passed.").wait_for()
    page.get_by_text("trivial statement").wait_for()
    page.locator('.pool-stats[data-environment="sandbox"]').get_by_text("not open in any process").wait_for()
    assert SECRET not in page.content()


def see_the_live_pool(page, connector_id: int) -> None:
    page.goto(f"/connectors/{connector_id}/")
    stats = page.locator('.pool-stats[data-environment="sandbox"]')
    stats.get_by_text("max size").wait_for()
    assert "processes" in stats.inner_text()


def test_a_newcomer_creates_a_tested_postgres_connector_and_sees_its_pool(
    chromium, owner, org, pg_values, closing_pools
):
    chromium(owner, lambda page: create_through_the_pages(page, pg_values))
    connector = Connector.objects.get(organization=org, name="Warehouse")
    runtime.call(connector, connector.settings.get().environment, "SELECT 1", {}, Deadline(5000))
    chromium(owner, lambda page: see_the_live_pool(page, connector.pk))


def edit_through_the_pages(page, connector_id: int) -> None:
    page.goto(f"/connectors/{connector_id}/")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Description").fill("Orders and stock of the warehouse")
    page.locator('input[name="sandbox__min_idle"]').fill("2")
    assert SECRET not in page.content(), "the saved password is never sent back to the browser"
    page.get_by_role("button", name="Test and save").click()
    page.get_by_text("Saved Warehouse; its connection test passed.").wait_for()


def try_to_delete_it(page, connector_id: int) -> None:
    page.goto(f"/connectors/{connector_id}/")
    page.get_by_role("link", name="Delete").click()
    refusal = page.get_by_role("alert")
    refusal.get_by_text("This connector is in use").wait_for()
    assert "1 flow ('Stock sync')" in refusal.inner_text()
    refusal.get_by_role("link", name="Stock sync").wait_for()
    assert page.get_by_role("button", name="Delete connector").count() == 0


def test_the_connector_is_edited_in_place_and_cannot_be_deleted_while_a_flow_uses_it(
    chromium, owner, org, pg_values, closing_pools
):
    from flows import versions
    from flows.models import Flow
    from tests.flows.builders import graph, sql

    chromium(owner, lambda page: create_through_the_pages(page, pg_values))
    connector = Connector.objects.get(organization=org, name="Warehouse")
    chromium(owner, lambda page: edit_through_the_pages(page, connector.pk))
    connector.refresh_from_db()
    stored = connector.settings.get()
    assert connector.description == "Orders and stock of the warehouse"
    assert stored.values["min_idle"] == 2
    assert runtime.call(connector, stored.environment, "SELECT 1 AS one", {}, Deadline(5000))["rows"] == [{"one": 1}]

    flow = Flow.objects.create(organization=org, name="Stock sync", slug="stock-sync")
    assert versions.save_draft(flow, graph([sql("read", connector, "SELECT 1")]), owner) == []
    chromium(owner, lambda page: try_to_delete_it(page, connector.pk))
    assert Connector.objects.filter(pk=connector.pk).exists()
