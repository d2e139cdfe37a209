"""The concurrency level of an HTTP connection, measured at the server: never more than N in flight."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from connectors import runtime
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from instructions.http import render

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def on_redis(settings, redis_url):
    """The limit is counted in Redis, across workers."""
    settings.REDIS_URL = redis_url


def run_in_threads(work, count: int) -> list[Exception]:
    errors: list[Exception] = []

    def guarded():
        try:
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=guarded) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def held(connector, environment, timeout_ms=20_000):
    rendered = render("GET /held", {})
    return runtime.call(connector, environment, rendered.text, rendered.params, Deadline(timeout_ms), {})


def test_parallel_calls_never_exceed_the_concurrency_level_at_the_server(http_connector, sandbox, api_server):
    connector = http_connector({"concurrency_level": 2, "max_pool": 10})
    errors = run_in_threads(lambda: held(connector, sandbox), 8)
    assert errors == []
    assert api_server.state.peak == 2, "8 parallel calls, a level of 2: two at a time at the server"


def test_without_a_level_the_calls_run_side_by_side(http_connector, sandbox, api_server):
    connector = http_connector({"max_pool": 10})
    assert run_in_threads(lambda: held(connector, sandbox), 6) == []
    assert api_server.state.peak > 2, "the control case: the server can see more than two at once"


def test_a_borrowed_level_is_one_budget_for_both_connections(http_connector, sandbox, api_server):
    lender = http_connector({"concurrency_level": 2, "max_pool": 10}, name="Acumatica main")
    borrower = http_connector({"borrow_concurrency_from": "Acumatica main", "max_pool": 10}, name="Acumatica reports")
    connectors = iter([lender, borrower] * 4)
    lock = threading.Lock()

    def one():
        with lock:
            connector = next(connectors)
        held(connector, sandbox)

    assert run_in_threads(one, 8) == []
    assert api_server.state.peak == 2
    assert len([r for r in api_server.state.requests if r["path"] == "/held"]) == 8


def test_a_call_over_the_level_waits_inside_its_deadline_then_fails_naming_the_level(
    http_connector, sandbox, api_server
):
    api_server.state.hold_seconds = 1.5
    lender = http_connector({"concurrency_level": 1}, name="Main")
    borrower = http_connector({"borrow_concurrency_from": "Main"}, name="Reports")
    holder = threading.Thread(target=run_in_threads, args=(lambda: held(lender, sandbox), 1))
    holder.start()
    try:
        api_server_wait(api_server)
        with pytest.raises(StepTimeout, match=r"'Reports' shares the concurrency level of 'Main', which allows 1 "):
            held(borrower, sandbox, timeout_ms=300)
    finally:
        holder.join()


def test_borrowing_from_a_connector_that_does_not_exist_is_a_clear_error(http_connector, sandbox):
    connector = http_connector({"borrow_concurrency_from": "Nowhere"}, name="Lost")
    with pytest.raises(ConnectorError, match="borrows the concurrency level of 'Nowhere', which does not exist"):
        held(connector, sandbox)


def api_server_wait(api_server, timeout=5.0):
    from tests.flows.workers import wait_until

    wait_until(lambda: api_server.state.in_flight == 1, timeout, message="the first call to reach the server")
