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


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def screenshot(page, name: str) -> None:
    from tests.browser.conftest import OUTPUT

    OUTPUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"{name}.png"))


def use_the_create_form(page, pg_values: dict) -> None:
    page.goto("/connectors/new/postgres/")
    sandbox, production = page.locator('input[name="env-sandbox"]'), page.locator('input[name="env-production"]')
    assert sandbox.is_checked() and not production.is_checked(), "a new connector starts in the sandbox"
    assert page.locator('input[name="sandbox__host"]').is_visible()
    assert page.locator('input[name="production__host"]').is_hidden(), "an unticked environment stays closed"
    shown = {name: page.locator(f'input[name="sandbox__{name}"]').input_value() for name in DATABASE_DEFAULTS}
    assert shown == DATABASE_DEFAULTS, "the defaults the README gives"
    screenshot(page, "connector-form-start")

    # Errors in the form's words, never the API's JSON.
    page.get_by_role("textbox", name="Name", exact=True).fill("Warehouse")
    page.get_by_role("button", name="Test and create").click()
    page.get_by_text("Fill in the sandbox settings or untick Sandbox.").wait_for()
    assert "{" not in page.get_by_role("alert").first.inner_text()
    sandbox = page.locator('input[name="env-sandbox"]')
    sandbox.uncheck()
    page.get_by_role("button", name="Test and create").click()
    alert = page.get_by_role("alert").first
    alert.get_by_text("Tick an environment (Sandbox or Production) and fill in its settings.").wait_for()
    assert "{" not in alert.inner_text()

    # Testing stays on the page and answers for every ticked environment, side by side.
    page.locator('input[name="env-sandbox"]').check()
    page.locator('input[name="env-production"]').check()
    assert page.locator('input[name="production__host"]').is_visible(), "ticking opens the environment"
    for name, value in pg_values.items():
        page.locator(f'input[name="sandbox__{name}"]').fill(str(value))
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Test connection").click()
    problems = page.locator("#live-test-results .test-problems")
    problems.get_by_text("Fill in the production settings or untick Production.").wait_for()
    assert "Nothing was tested yet" in problems.inner_text()
    for name, value in {**pg_values, "port": closed_port()}.items():
        page.locator(f'input[name="production__{name}"]').fill(str(value))
    page.get_by_role("button", name="Test connection").click()
    columns = page.locator("#live-test-results .test-column")
    columns.nth(1).wait_for()
    assert columns.count() == 2
    assert columns.nth(0).get_attribute("data-environment") == "sandbox"
    assert "passed" in columns.nth(0).inner_text()
    assert "failed" in columns.nth(1).inner_text()
    first, second = columns.nth(0).bounding_box(), columns.nth(1).bounding_box()
    assert abs(first["y"] - second["y"]) < 1 and second["x"] > first["x"] + first["width"] - 1, "side by side"
    assert page.evaluate("window.stillTheSamePage") is True, "no page load"
    assert SECRET not in page.locator("#live-test-results").inner_text()
    columns.nth(1).scroll_into_view_if_needed()
    screenshot(page, "connector-form-tested")


DATABASE_DEFAULTS = {"port": "5432", "min_idle": "5", "max_pool": "20", "idle_timeout_ms": "600000"}


def test_the_create_form_starts_in_the_sandbox_speaks_in_form_words_and_tests_in_place(
    chromium, owner, org, pg_values, closing_pools
):
    chromium(owner, lambda page: use_the_create_form(page, pg_values))
    assert not Connector.objects.filter(organization=org).exists(), "testing saves nothing"


def choose_the_sap_transport(page) -> None:
    page.goto("/connectors/new/sap/")
    rfc_only = [f'[name="sandbox__{name}"]' for name in ("ashost", "sysnr", "gwhost", "saprouter", "mshost", "sysid")]
    assert page.locator('select[name="sandbox__transport"]').input_value() == "rfc"
    assert all(page.locator(selector).is_visible() for selector in rfc_only)
    assert page.locator('[name="sandbox__soap_url"]').is_hidden()
    defaults = {
        name: page.locator(f'[name="sandbox__{name}"]').input_value() for name in ("lang", "min_idle", "max_pool")
    }
    assert defaults == {"lang": "EN", "min_idle": "1", "max_pool": "10"}, "the defaults the README gives"

    page.locator('select[name="sandbox__transport"]').select_option("soap")
    assert all(page.locator(selector).is_hidden() for selector in rfc_only), "RFC's servers mean nothing to SOAP"
    assert page.get_by_role("heading", name="Load balancing").first.is_hidden()
    assert page.locator('[name="sandbox__soap_url"]').is_visible()
    assert page.locator('[name="sandbox__client"]').is_visible(), "what both transports use stays"
    screenshot(page, "connector-form-sap-soap")
    page.locator('select[name="sandbox__transport"]').select_option("rfc")
    assert page.locator('[name="sandbox__ashost"]').is_visible()


def test_the_sap_form_shows_only_the_settings_of_the_chosen_transport(chromium, owner, org):
    chromium(owner, choose_the_sap_transport)
