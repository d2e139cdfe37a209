"""The alerts page in Chromium: an editor creates a rule and copies its signing key."""

from __future__ import annotations

import pytest

from alerts.models import AlertRule
from tests.browser.conftest import chromium  # noqa: F401 - the browser fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_editor_creates_a_rule_from_the_navigation(chromium, editor, make_flow, sandbox, receiver):  # noqa: F811
    make_flow(slug="orders", name="Orders")
    seen = {}

    def create(page):
        page.goto("/")
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
        page.get_by_text("No alert rules yet.").wait_for()
        page.get_by_role("link", name="New alert rule").click()
        page.get_by_label("Name").fill("Orders on call")
        page.get_by_label("Flow").select_option(label="Orders")
        page.get_by_label("Condition").select_option("failures_over")
        page.get_by_label("N: more than this many failures").fill("3")
        page.get_by_label("W: within this many minutes").fill("15")
        page.get_by_label("E-mail addresses").fill("oncall@example.com")
        page.get_by_label("Webhook URL").fill(receiver.url)
        page.get_by_role("button", name="Create rule").click()
        seen["secret"] = page.locator("#issued-secret").inner_text()
        seen["row"] = page.locator("#alert-rules tbody tr").inner_text()

    chromium(editor, create)
    rule = AlertRule.objects.get()
    assert rule.signing_key() == seen["secret"]
    assert (rule.flow.slug, rule.failures, rule.window_minutes) == ("orders", 3, 15)
    assert rule.emails == ["oncall@example.com"]
    assert "more than 3 failures in 15 min" in seen["row"] and "oncall@example.com" in seen["row"]
