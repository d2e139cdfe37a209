"""A small connection pool for drivers that have none of their own (PyMySQL, sqlite3).

It keeps the meaning of the three pool settings every database connector shares:

- at least ``min_idle`` connections are kept open and ready (a maintenance thread refills them);
- never more than ``max_size`` are open, counting those being opened;
- a connection idle for longer than ``idle_timeout`` seconds is closed while more than
  ``min_idle`` are open.

Idle connections are lent most recently used first, so under a light load the extra ones stay
idle and time out. A connection idle for more than ``CHECK_AFTER`` seconds is checked before it
is lent (a database restart or a killed session is noticed there, not by the caller's statement),
and a connection returned as broken is closed and replaced.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from connectors.catalog.base import ConnectorError, Deadline, PoolExhausted, pool_stats

logger = logging.getLogger("erpflow.pools")

CHECK_AFTER = 0.25
MAX_REFILL_DELAY = 30.0


class SimplePool:
    """See the module docstring. ``connect(timeout_seconds)`` opens one driver connection."""

    def __init__(
        self,
        connect: Callable[[float], Any],
        *,
        min_idle: int,
        max_size: int,
        idle_timeout: float,
        connect_timeout: float,
        is_alive: Callable[[Any], bool],
        name: str = "pool",
    ):
        self.connect = connect
        self.min_idle = min_idle
        self.max_size = max_size
        self.idle_timeout = idle_timeout
        self.connect_timeout = connect_timeout
        self.is_alive = is_alive
        self.name = name
        # Borrowers wait on ``cond``, the upkeep thread on ``upkeep`` (same lock): a connection given back
        # must wake a borrower, and a single ``notify`` on one shared condition could wake the upkeep thread.
        lock = threading.RLock()
        self.cond = threading.Condition(lock)
        self.upkeep = threading.Condition(lock)
        self.idle: list[tuple[Any, float]] = []  # (connection, returned at); the end is the most recent
        self.size = 0  # open or being opened
        self.in_use = 0
        self.waiting = 0
        self.opened = self.closed = self.errors = 0
        self.refill_delay = 0.0
        self.refill_after = 0.0
        self.closing = False
        self.maintainer = threading.Thread(target=self.maintain, name=f"erpflow-pool-{name}", daemon=True)
        self.maintainer.start()

    # -- lending ----------------------------------------------------------------------------------

    @contextmanager
    def connection(self, deadline: Deadline) -> Iterator[Any]:
        conn = self.acquire(deadline)
        broken = False
        try:
            yield conn
        except BaseException as exc:
            broken = isinstance(exc, BrokenConnection) or not self.still_works(conn)
            raise
        finally:
            self.release(conn, broken=broken)

    def still_works(self, conn) -> bool:
        """The type's liveness check (a ping), with any error it raises meaning no."""
        try:
            return self.is_alive(conn)
        except Exception:
            return False

    def acquire(self, deadline: Deadline) -> Any:
        started = time.monotonic()
        while True:
            conn, idle_since = self.take(deadline, started)
            if conn is None:
                return self.open_reserved(deadline)
            if time.monotonic() - idle_since < CHECK_AFTER or self.still_works(conn):
                return conn
            logger.info("pool %s: discarding a connection that no longer answers", self.name)
            self.release(conn, broken=True)

    def take(self, deadline: Deadline, started: float) -> tuple[Any, float]:
        """An idle connection, or (None, 0) after reserving room to open a new one; waits otherwise."""
        with self.cond:
            if self.closing:
                raise ConnectorError("the connection pool is closed (the connector was changed); try again")
            self.waiting += 1
            try:
                while True:
                    if self.idle:
                        conn, idle_since = self.idle.pop()
                        self.in_use += 1
                        return conn, idle_since
                    if self.size < self.max_size:
                        self.size += 1
                        self.in_use += 1
                        return None, 0.0
                    remaining = deadline.remaining()
                    if remaining <= 0:
                        self.errors += 1
                        raise PoolExhausted(self.in_use, self.max_size, (time.monotonic() - started) * 1000)
                    self.cond.wait(remaining)
            finally:
                self.waiting -= 1

    def open_reserved(self, deadline: Deadline) -> Any:
        """Open the connection a ``take`` made room for; the room is given back when that fails."""
        try:
            conn = self.connect(max(0.5, min(self.connect_timeout, deadline.remaining())))
        except BaseException:
            with self.cond:
                self.size -= 1
                self.in_use -= 1
                self.errors += 1
                self.cond.notify()
            raise
        with self.cond:
            self.opened += 1
        return conn

    def release(self, conn, *, broken: bool = False) -> None:
        with self.cond:
            self.in_use -= 1
            keep = not broken and not self.closing
            if keep:
                self.idle.append((conn, time.monotonic()))
            else:
                self.size -= 1
                self.closed += 1
            self.cond.notify()
        if not keep:
            self.discard(conn)

    @staticmethod
    def discard(conn) -> None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone either way
            conn.close()

    # -- upkeep -----------------------------------------------------------------------------------

    def maintain(self) -> None:
        """Refill to ``min_idle`` and close connections idle past the timeout, until closed."""
        tick = max(0.05, min(1.0, self.idle_timeout / 4))
        while True:
            with self.cond:
                if self.closing:
                    return
                expired = self.expired()
                due = time.monotonic() >= self.refill_after
                missing = max(0, min(self.min_idle, self.max_size) - self.size) if due else 0
                self.size += missing
            for conn in expired:
                self.discard(conn)
            for done in range(missing):
                if not self.fill_one():
                    with self.cond:
                        self.size -= missing - done - 1  # the room reserved for the attempts not made
                    break
            with self.cond:
                if not self.closing:
                    self.upkeep.wait(tick)

    def expired(self) -> list:
        """Remove and return the idle connections past the timeout, above the minimum (lock held)."""
        now = time.monotonic()
        out = []
        while self.size - len(out) > self.min_idle and self.idle and now - self.idle[0][1] > self.idle_timeout:
            out.append(self.idle.pop(0)[0])
        self.size -= len(out)
        self.closed += len(out)
        return out

    def fill_one(self) -> bool:
        """Open one connection into the room reserved for it; after a failure wait longer each time
        (up to ``MAX_REFILL_DELAY``) before the next attempt, so a server that is down is not hammered."""
        try:
            conn = self.connect(self.connect_timeout)
        except Exception as exc:
            with self.cond:
                self.size -= 1
                self.errors += 1
                self.refill_delay = min(MAX_REFILL_DELAY, max(0.5, self.refill_delay * 2))
                self.refill_after = time.monotonic() + self.refill_delay
            logger.warning("pool %s: could not open a connection: %s", self.name, type(exc).__name__)
            return False
        with self.cond:
            self.opened += 1
            self.refill_delay = 0.0
            if self.closing:
                self.size -= 1
                self.closed += 1
            else:
                self.idle.insert(0, (conn, time.monotonic()))
                self.cond.notify()
                return True
        self.discard(conn)
        return True

    def stats(self) -> dict[str, int]:
        with self.cond:
            return pool_stats(
                size=self.size,
                idle=len(self.idle),
                in_use=self.in_use,
                waiting=self.waiting,
                opened=self.opened,
                closed=self.closed,
                errors=self.errors,
                min_idle=self.min_idle,
                max_size=self.max_size,
            )

    def close(self) -> None:
        with self.cond:
            self.closing = True
            idle = [conn for conn, _ in self.idle]
            self.idle.clear()
            self.size -= len(idle)
            self.closed += len(idle)
            self.cond.notify_all()
            self.upkeep.notify_all()
        for conn in idle:
            self.discard(conn)


class BrokenConnection(ConnectorError):
    """Raised by a type's ``execute`` when its connection is unusable afterwards: the pool drops it."""
