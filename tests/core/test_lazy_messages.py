"""``core.lazy_messages``: messages still travel from one request to the next, the admin still accepts
the middleware, and a request that never uses messages never builds their storage."""

from __future__ import annotations

import pytest
from django.contrib import messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.middleware import SessionMiddleware
from django.core import checks
from django.http import HttpResponse
from django.test import RequestFactory

from core.lazy_messages import LazyMessageMiddleware

pytestmark = pytest.mark.django_db


def serve(view, cookies=None):
    """``view`` behind the session and message middleware, as the site serves it."""
    request = RequestFactory().get("/")
    request.COOKIES.update(cookies or {})
    handler = SessionMiddleware(LazyMessageMiddleware(view))
    return handler(request)


def test_a_message_added_in_one_request_is_read_in_the_next():
    def add(request):
        messages.success(request, "Saved the connector.")
        return HttpResponse("added")

    shown = []

    def read(request):
        shown.extend(str(message) for message in messages.get_messages(request))
        return HttpResponse("read")

    first = serve(add)
    cookies = {name: morsel.value for name, morsel in first.cookies.items()}
    assert cookies, "the message went nowhere"
    serve(read, cookies)
    assert shown == ["Saved the connector."]


class CountingStorage(FallbackStorage):
    built: list = []

    def __init__(self, request, *args, **kwargs):
        CountingStorage.built.append(request)
        super().__init__(request, *args, **kwargs)


def test_a_request_that_uses_no_message_builds_no_storage(api, settings):
    settings.MESSAGE_STORAGE = f"{__name__}.CountingStorage"
    CountingStorage.built = []
    assert api.get("/api/v1/audit/").status_code == 200
    assert CountingStorage.built == []
    serve(lambda request: messages.info(request, "x") or HttpResponse())
    assert len(CountingStorage.built) == 1


def test_the_admin_accepts_it():
    assert [error.id for error in checks.run_checks(tags=["admin"]) if error.id == "admin.E409"] == []


def test_the_admin_shows_the_message_of_a_save_on_the_next_page(client, admin_user):
    client.force_login(admin_user)
    saved = client.post("/admin/auth/group/add/", {"name": "Integrators"}, follow=True)
    assert saved.status_code == 200
    shown = [str(message) for message in saved.context["messages"]]
    assert len(shown) == 1 and "Integrators" in shown[0] and "was added successfully" in shown[0]
