"""The Connector Manager in Chromium: find a type card by searching, fill the generated form, test and save,
then watch the connector page show its live pool.

Playwright runs in a thread of its own, so this test's thread keeps the ORM (no event loop in it) and
Chromium sessions of other test modules in this process are left alone.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client

from connectors import pools, runtime
from connectors.catalog.base import Deadline
from connectors.models import Connector
from tests.connectors.conftest import SECRET

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def in_chromium(base_url: str, user, actions: Callable) -> None:
    """Run ``actions(page, base_url)`` in Chromium, signed in as ``user``; its failures fail the test."""
    from playwright.sync_api import sync_playwright

    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                context = chromium.new_context(viewport={"width": 1280, "height": 800})
                context.add_cookies([{**cookie, "url": base_url}])
                context.set_default_timeout(10_000)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                actions(page, base_url)
                assert not errors, f"the page raised JavaScript errors: {errors}"
                chromium.close()
        except BaseException as exc:  # handed to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "Chromium did not finish in two minutes"
    if failure:
        raise failure[0]


@pytest.fixture
def closing_pools():
    yield
    pools.close_all()


def create_through_the_pages(page, base: str, pg_values: dict) -> None:
    page.goto(f"{base}/connectors/")
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


def see_the_live_pool(page, base: str, connector_id: int) -> None:
    page.goto(f"{base}/connectors/{connector_id}/")
    stats = page.locator('.pool-stats[data-environment="sandbox"]')
    stats.get_by_text("max size").wait_for()
    assert "processes" in stats.inner_text()


def test_a_newcomer_creates_a_tested_postgres_connector_and_sees_its_pool(
    live_server, owner, org, pg_values, closing_pools
):
    in_chromium(live_server.url, owner, lambda page, base: create_through_the_pages(page, base, pg_values))
    connector = Connector.objects.get(organization=org, name="Warehouse")
    runtime.call(connector, connector.settings.get().environment, "SELECT 1", {}, Deadline(5000))
    in_chromium(live_server.url, owner, lambda page, base: see_the_live_pool(page, base, connector.pk))
