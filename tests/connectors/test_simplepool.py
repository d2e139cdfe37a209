"""``connectors.simplepool.SimplePool`` on its own, with fake connections: the pool's rules (minimum idle,
maximum size, idle timeout, broken connections, waiting within a deadline) are checked here without a
database, so a failure points at the pool and not at MariaDB, SQLite or the network.

The pool reads ``time.monotonic`` through its module: the tests replace that with a clock they move on,
so an idle timeout or the liveness check's age passes without waiting for it. The maintenance thread
waits on the pool's condition, so a notify after moving the clock makes it look at once.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest

from connectors import simplepool
from connectors.catalog.base import ConnectorError, Deadline, PoolExhausted
from connectors.simplepool import BrokenConnection, SimplePool
from tests.flows.workers import wait_until


class Clock:
    """The pool module's ``time``: the real monotonic clock plus what the test has moved it on by."""

    def __init__(self):
        self.offset = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.offset


class Connection:
    def __init__(self, number: int):
        self.number = number
        self.alive = True
        self.closed = False

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"Connection({self.number})"


class Factory:
    """The driver's ``connect(timeout_seconds)``: counts what it opened, and fails while told to."""

    def __init__(self):
        self.opened: list[Connection] = []
        self.failing = False
        self.numbers = itertools.count(1)

    def __call__(self, timeout: float) -> Connection:
        if self.failing:
            raise ConnectorError("the server refused the connection")
        conn = Connection(next(self.numbers))
        self.opened.append(conn)
        return conn


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(simplepool, "time", clock)
    return clock


@pytest.fixture
def factory():
    return Factory()


@pytest.fixture
def make_pool(clock, factory):
    pools = []

    def make(*, min_idle=0, max_size=3, idle_timeout=60.0) -> SimplePool:
        pool = SimplePool(
            factory,
            min_idle=min_idle,
            max_size=max_size,
            idle_timeout=idle_timeout,
            connect_timeout=1.0,
            is_alive=lambda conn: conn.alive,
            name="test",
        )
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


def nudge(pool: SimplePool) -> None:
    """Wake the maintenance thread now (it otherwise looks once a tick)."""
    with pool.cond:
        pool.cond.notify_all()


def test_the_minimum_idle_connections_are_opened_without_a_borrower_and_lent_first(make_pool, factory):
    pool = make_pool(min_idle=2, max_size=5)
    wait_until(lambda: pool.stats()["idle"] == 2, 5, message="2 idle connections")

    conn = pool.acquire(Deadline(1000))
    assert conn in factory.opened
    assert len(factory.opened) == 2, "an idle connection was lent, none opened"
    pool.release(conn)
    nudge(pool)
    assert pool.stats() == {
        "size": 2,
        "idle": 2,
        "in_use": 0,
        "waiting": 0,
        "opened": 2,
        "closed": 0,
        "errors": 0,
        "min_idle": 2,
        "max_size": 5,
    }


def test_no_more_than_the_maximum_size_are_opened_and_the_next_borrower_gets_pool_exhausted(make_pool, factory):
    pool = make_pool(max_size=2)
    held = [pool.acquire(Deadline(1000)) for _ in range(2)]

    with pytest.raises(PoolExhausted, match=r"pool exhausted: 2 of 2 in use after \d+ ms"):
        pool.acquire(Deadline(20))

    assert len(factory.opened) == 2
    stats = pool.stats()
    assert (stats["size"], stats["in_use"], stats["errors"]) == (2, 2, 1)
    for conn in held:
        pool.release(conn)
    assert pool.acquire(Deadline(20)) in held, "after the release the room is back"


def test_a_borrower_waits_within_its_deadline_for_a_connection_given_back(make_pool, factory):
    pool = make_pool(max_size=1)
    first = pool.acquire(Deadline(1000))
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(Deadline(1500))))
    waiter.start()
    wait_until(lambda: pool.stats()["waiting"] == 1, 5, message="the borrower to wait")

    pool.release(first)
    waiter.join(10)

    assert got == [first], "the waiting borrower got the connection given back, not PoolExhausted"
    assert len(factory.opened) == 1
    assert pool.stats()["errors"] == 0


def test_a_waiting_borrower_is_woken_as_soon_as_a_connection_is_given_back(make_pool, factory):
    pool = make_pool(max_size=1)
    first = pool.acquire(Deadline(1000))
    got = []
    waiter = threading.Thread(target=lambda: got.append(pool.acquire(Deadline(30_000))))
    waiter.start()
    try:
        wait_until(lambda: pool.stats()["waiting"] == 1, 5, message="the borrower to wait")
        pool.release(first)
        wait_until(lambda: got, 2, message="the borrower to get the connection (its deadline is 30 s away)")
    finally:
        pool.close()  # wakes the borrower if it is still asleep
        waiter.join(5)


def test_the_error_when_the_deadline_runs_out_says_how_many_were_in_use_and_how_long_it_waited(make_pool):
    pool = make_pool(max_size=1)
    pool.acquire(Deadline(1000))
    with pytest.raises(PoolExhausted) as raised:
        pool.acquire(Deadline(30))
    assert str(raised.value).startswith("pool exhausted: 1 of 1 in use after ")
    assert int(str(raised.value).split(" after ")[1].removesuffix(" ms")) >= 29, "it waited its deadline"
    assert pool.stats()["waiting"] == 0


def test_connections_idle_past_the_timeout_are_closed_down_to_the_minimum_oldest_first(make_pool, factory, clock):
    pool = make_pool(min_idle=1, max_size=3, idle_timeout=30)
    conns = [pool.acquire(Deadline(1000)) for _ in range(3)]
    for conn in conns:  # returned in this order: the first is idle the longest
        pool.release(conn)
    nudge(pool)
    assert pool.stats()["size"] == 3, "nothing is closed before the timeout"

    clock.offset += 31
    nudge(pool)
    wait_until(lambda: pool.stats()["size"] == 1, 5, message="the pool to shrink to its minimum")

    assert [conn.closed for conn in conns] == [True, True, False]
    assert pool.stats()["closed"] == 2
    assert pool.acquire(Deadline(1000)) is conns[2]


def test_a_connection_given_back_as_broken_is_closed_and_replaced(make_pool, factory):
    pool = make_pool(max_size=1)
    with pytest.raises(BrokenConnection), pool.connection(Deadline(1000)) as conn:
        raise BrokenConnection("the connection to the server was lost")

    assert conn.closed
    assert (pool.stats()["size"], pool.stats()["closed"]) == (0, 1)
    with pool.connection(Deadline(1000)) as replacement:
        assert replacement is not conn and not replacement.closed


def test_an_idle_connection_that_no_longer_answers_is_discarded_before_it_is_lent(make_pool, factory, clock):
    pool = make_pool(max_size=2)
    conn = pool.acquire(Deadline(1000))
    pool.release(conn)
    conn.alive = False  # the server killed the session while it was idle
    clock.offset += simplepool.CHECK_AFTER + 1

    lent = pool.acquire(Deadline(1000))

    assert lent is not conn and conn.closed
    assert (len(factory.opened), pool.stats()["closed"]) == (2, 1)


def test_a_failed_connect_gives_its_room_back_and_counts_an_error(make_pool, factory):
    pool = make_pool(max_size=1)
    factory.failing = True
    with pytest.raises(ConnectorError, match="refused"):
        pool.acquire(Deadline(1000))
    assert (pool.stats()["size"], pool.stats()["in_use"], pool.stats()["errors"]) == (0, 0, 1)

    factory.failing = False
    assert pool.acquire(Deadline(1000)) is factory.opened[0], "the room of the failed attempt is free again"


def test_a_closed_pool_lends_nothing_and_closes_its_idle_connections(make_pool, factory):
    pool = make_pool(min_idle=2)
    wait_until(lambda: pool.stats()["idle"] == 2, 5, message="2 idle connections")
    pool.close()
    assert all(conn.closed for conn in factory.opened)
    with pytest.raises(ConnectorError, match="the connection pool is closed"):
        pool.acquire(Deadline(1000))
