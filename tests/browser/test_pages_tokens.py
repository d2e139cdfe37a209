"""The API tokens page in Chromium: scopes in words with their API names, and a new token copied with one
click."""

from __future__ import annotations

import pytest

from accounts.models import ApiToken

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def create_and_copy(page, seen: dict) -> None:
    page.goto("/tokens/")
    page.get_by_label("Trigger executions (executions:run)").check()
    page.get_by_label("Read connectors (connectors:read)").check()
    page.get_by_role("textbox", name="Name").fill("ERP")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#issued-token").inner_text().strip()
    # What the button hands the clipboard (headless Chromium has no clipboard to read back).
    page.evaluate("navigator.clipboard.writeText = text => { window.copied = text; return Promise.resolve(); }")
    button = page.get_by_role("button", name="Copy token")
    button.click()
    page.get_by_role("button", name="Copied").wait_for()
    seen.update(
        token=token, copied=page.evaluate("window.copied"), scopes=page.locator("td code.pill").all_inner_texts()
    )


def test_a_new_token_is_copied_with_one_click_and_scopes_show_their_api_names(chromium, owner, org):
    seen: dict = {}
    chromium(owner, lambda page: create_and_copy(page, seen))
    assert seen["copied"] == seen["token"] and seen["token"].startswith("erp_")
    assert sorted(seen["scopes"]) == ["connectors:read", "executions:run"]
    assert sorted(ApiToken.objects.get(user=owner).scopes) == ["connectors:read", "executions:run"]
