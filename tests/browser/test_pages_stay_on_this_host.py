"""Every page, the API docs included, loads everything from erpflow itself: Chromium, with every request
to another host blocked and recorded, walks the pages of the demo organization and records none. Also
the layout every page shares: the top bar holds one line at 1280 px, and the page has a favicon."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth import get_user_model

from accounts.demo import create_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}
MOST_PAGES = 80
# Links that are not pages to look at: signing out ends the walk, the admin is Django's own, an export
# is a download.
SKIP = ("/logout", "/admin/", "/api/v1/", "/api/schema/")
DOWNLOADS = ("/export/",)


def walk(page, outside: list[str], visited: list[str], start: list[str]) -> None:
    def record(route):
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https", "ws", "wss") and urlsplit(url).hostname not in LOCAL_HOSTS:
            outside.append(f"{url} (from {page.url})")
            route.abort()
        else:
            route.continue_()

    page.context.route("**/*", record)
    page.on("response", lambda response: response.status >= 500 and outside.append(f"{response.status} {response.url}"))
    queue = list(start)
    while queue and len(visited) < MOST_PAGES:
        path = queue.pop(0)
        if path in visited:
            continue
        visited.append(path)
        page.goto(path, wait_until="networkidle")
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(page.url, href))
            if target.hostname not in LOCAL_HOSTS or target.path.startswith(SKIP) or target.path.endswith(DOWNLOADS):
                continue
            found = target.path + (f"?{target.query}" if target.query else "")
            if found not in visited and found not in queue:
                queue.append(found)


def test_no_page_asks_another_host_for_anything_or_fails(chromium):
    create_demo("admin")
    admin = get_user_model().objects.get(username="admin")
    outside: list[str] = []
    visited: list[str] = []
    start = ["/", "/api/docs/"]
    chromium(admin, lambda page: walk(page, outside, visited, start))
    assert len(visited) >= 15, f"the walk found too few pages: {visited}"
    assert "/api/docs/" in visited and "/connectors/" in visited and "/monitoring/" in visited, visited
    assert not outside, "requests to other hosts, or server errors:\n" + "\n".join(outside)


def look_at_the_top_bar(page) -> None:
    page.goto("/")
    bar = page.locator("header.topbar").bounding_box()
    links = page.locator(".mainnav a")
    tops = {round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}
    assert len(tops) == 1, "the links of the top bar are on one line"
    assert bar["height"] < 60
    assert page.locator('link[rel="icon"]').get_attribute("href").endswith("favicon.svg")
    assert page.request.get(page.locator('link[rel="icon"]').get_attribute("href")).ok


def test_the_top_bar_holds_one_line_at_1280_px_with_every_link_an_owner_has(chromium):
    create_demo("admin")
    chromium(get_user_model().objects.get(username="admin"), look_at_the_top_bar)


def read_the_api_docs(page) -> None:
    page.goto("/api/docs/")
    page.get_by_role("heading", name="erpflow API").first.wait_for()
    page.get_by_text("erpflow connects ERP systems").first.wait_for()
    page.get_by_role("heading", name="Start a flow in an environment (the REST trigger)").first.wait_for()
    page.get_by_text("Connections to ERP systems and databases").first.wait_for()
    assert page.locator("img[alt='redocly logo']").count() == 0


def test_the_api_docs_render_with_the_products_words(chromium, owner):
    chromium(owner, read_the_api_docs)
