"""Pages in a real browser: Debian's Chromium driven by Playwright, against pytest-django's live server.

Playwright's sync API runs an event loop in the thread that drives it, and Django refuses ORM calls
in a thread with a running loop. So Chromium runs in a thread of its own (``in_chromium``) and the
test's thread keeps the ORM: it sets up rows, lets the browser act, then reads what the pages did.
When the actions fail, a screenshot of the page goes to the test output folder
(``ERPFLOW_TEST_OUTPUT``, default ``var/test-output/``), named after the test.

Without a ``chromium`` on the PATH these tests skip with the line bin/test-setup prints (it installs
the browser for `make test` when it can), and under CI=true they fail, as the set-up does.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM_MISSING = (
    "Chromium is missing: install Debian's chromium package (apt-get install chromium) to run the browser tests"
)
OUTPUT = Path(os.environ.get("ERPFLOW_TEST_OUTPUT") or Path(__file__).resolve().parents[2] / "var" / "test-output")
# Headless Chromium in a container: no sandbox (no user namespaces), no GPU, /tmp instead of a small /dev/shm.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def chromium_executable() -> str:
    """The browser on the PATH; skips the test without one, or fails it under CI=true."""
    path = shutil.which("chromium")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(CHROMIUM_MISSING)
        pytest.skip(CHROMIUM_MISSING)
    return path


def in_chromium(base_url: str, user, actions: Callable, *, name: str = "page") -> None:
    """Run ``actions(page)`` in Chromium, signed in as ``user``; its failures and page errors fail the test."""
    from playwright.sync_api import sync_playwright

    executable = chromium_executable()
    client = Client()
    client.force_login(user)
    cookie = {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value}
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                context = chromium.new_context(viewport={"width": 1280, "height": 800}, base_url=base_url)
                context.add_cookies([{**cookie, "url": base_url}])
                context.set_default_timeout(10_000)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                try:
                    actions(page)
                    assert not errors, f"the page raised JavaScript errors: {errors}"
                except BaseException:
                    OUTPUT.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True)
                    raise
                finally:
                    chromium.close()
        except BaseException as exc:  # handed over to the test's thread
            failure.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(180)
    assert not thread.is_alive(), "Chromium did not finish in three minutes"
    if failure:
        raise failure[0]


@pytest.fixture
def chromium(live_server, request):
    """``chromium(user, actions)``: run ``actions(page)`` against the live server as ``user``."""
    chromium_executable()  # skip (or fail) before the test sets anything up
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return lambda user, actions: in_chromium(live_server.url, user, actions, name=name)
