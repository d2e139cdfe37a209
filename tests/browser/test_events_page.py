"""The executions page in Chromium: events filtered by use case and correlation id, across pages."""

from __future__ import annotations

import pytest

from flows.models import Execution
from flows.pages import executions as pages
from tests.api.conftest import ADD_FIELD, make_flow  # noqa: F401 - the API tests' flow fixture
from tests.api.test_events import event, send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_the_executions_by_use_case_and_correlation_id_and_page_through_them(
    chromium, owner, api, sandbox, monkeypatch, request
):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    flow = request.getfixturevalue("make_flow")
    flow(ADD_FIELD, slug="orders", deploy=[sandbox], use_case_slug="orders", use_case_enabled=True)
    flow(ADD_FIELD, slug="refunds", deploy=[sandbox], use_case_slug="refunds", use_case_enabled=True)
    batch = send(api, [event(), event(), event()], meta={"correlation_id": "erp-7"}).json()["events"]
    send(api, [event()], meta={"correlation_id": "erp-8"})
    send(api, [event("refunds")], meta={"correlation_id": "erp-7"})
    wanted = sorted((o["id"] for o in batch), reverse=True)
    seen: list[str] = []

    def actions(page) -> None:
        page.goto("/executions/")
        page.get_by_label("Use case").select_option("orders")
        page.get_by_label("Correlation id").fill("erp-7")
        page.get_by_role("button", name="Filter").click()
        page.get_by_text("Page 1 of 2 · 3 executions").wait_for()
        seen.extend(page.locator("tbody tr td:first-child").all_inner_texts())
        page.get_by_role("link", name="Older →").click()
        page.get_by_text("Page 2 of 2 · 3 executions").wait_for()
        seen.extend(page.locator("tbody tr td:first-child").all_inner_texts())
        assert page.get_by_label("Use case").input_value() == "orders"
        assert page.get_by_label("Correlation id").input_value() == "erp-7"

    chromium(owner, actions)
    assert seen == [f"#{pk}" for pk in wanted]
    assert Execution.objects.count() == 5
