"""Pages in a real browser: Debian's Chromium driven by Playwright, against pytest-django's live server.

Playwright's sync API keeps an event loop running in the test's thread, which makes Django refuse
ORM calls there as "async unsafe"; the test thread only sets up rows and reads them back, so the
check is switched off while the browser is open.
"""

from __future__ import annotations

import os
import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), "Debian's chromium package is needed for browser tests (.ci/run installs it)"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            yield chromium
            chromium.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


@pytest.fixture
def signed_in(page, live_server, owner, org):
    """The owner, signed in through the login form; ``page.base`` is the live server's URL."""
    page.base = live_server.url
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(owner.username)
    page.get_by_label("Password").fill("pw-" + owner.username)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page
