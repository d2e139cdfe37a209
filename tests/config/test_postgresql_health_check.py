"""The PostgreSQL backend's health check (``config.postgresql``): a sound idle connection is judged
without a round trip, a connection the server has gone from is replaced before a request uses it."""

from __future__ import annotations

import time

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_sound_idle_connection_is_judged_without_sending_anything(second_connection, monkeypatch):
    backend_pid(second_connection)
    sent = []
    monkeypatch.setattr(type(second_connection.connection), "execute", lambda *args, **kwargs: sent.append(args))
    monkeypatch.setattr(type(second_connection.connection), "cursor", lambda *args, **kwargs: sent.append(args))

    assert second_connection.is_usable()
    assert sent == []


def test_a_connection_the_server_ended_is_replaced_before_the_next_query(second_connection):
    pid = backend_pid(second_connection)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while second_connection.is_usable() and time.monotonic() < deadline:  # the goodbye travels through the socket
        time.sleep(0.01)

    assert not second_connection.is_usable()
    second_connection.health_check_done = False  # a new request
    second_connection.close_if_health_check_failed()
    assert backend_pid(second_connection) != pid
