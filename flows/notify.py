"""Telling a waiting trigger that its execution finished.

A REST trigger with ``wait`` blocks until the execution reaches a final state. With Redis
(``REDIS_URL``) the engine publishes on a per-execution channel; each web process keeps one
pattern subscription to all of them, read by a daemon thread that wakes the threads waiting for
that execution, so a wait costs no Redis connection of its own. Without Redis (the embedded
``make run`` default), or while the subscription is down, the waiter polls the database with a
short, growing interval. Either way the database is the truth: a waiter registers first and then
reads the status, so a finish that happens between the two is never missed, and it re-reads the
status at least every second in case a message was lost (a Redis restart). A request that runs its
execution itself (``flows.eager``) is woken in-process, and Redis hears of that execution only when
a duplicate trigger could be waiting for it elsewhere (``publish_finished``).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from config.redis_client import client as redis_client
from flows.models import Execution

logger = logging.getLogger("erpflow.notify")

CHANNEL_PREFIX = "erpflow:execution-finished:"
RECHECK_SECONDS = 1.0
_listener_lock = threading.Lock()
_listener: Listener | None = None
_watched: dict[int, threading.Event] = {}  # executions this process runs for a waiting request


def channel(execution_id: int) -> str:
    return f"{CHANNEL_PREFIX}{execution_id}"


def publish_finished(execution_id: int, execution: Execution | None = None) -> None:
    """Wake whoever waits for ``execution_id`` (it finished, or a respond step answered its caller);
    a failure only costs the waiter its polling fallback.

    With ``execution`` (its ending) the message to Redis is left out when the one waiting is the
    request of this process that runs it (``watch``) and the execution has no deduplication id: only
    a duplicate trigger ever waits for an execution it did not start, so nobody else can be waiting.
    That spares a waited trigger run here a round trip to Redis."""
    watching = _watched.get(execution_id)
    if watching is not None:
        watching.set()
        if execution is not None and not execution.deduplication_key:
            return
    client = redis_client()
    if client is None:
        return
    try:
        client.publish(channel(execution_id), b"1")
    except Exception as exc:
        logger.warning("could not publish the end of execution %s: %s", execution_id, type(exc).__name__)


def watch(execution_id: int) -> threading.Event:
    """An event set when this process publishes the end (or the response) of ``execution_id``: how
    a request running its execution in-process (``flows.eager``) learns of it without Redis."""
    event = threading.Event()
    _watched[execution_id] = event
    return event


def unwatch(execution_id: int) -> None:
    _watched.pop(execution_id, None)


class Waiter(threading.Event):
    """Set when the execution's message arrives (``published``), or to make the waiter re-read the database."""

    published = False


class Listener:
    """The process's subscription to every execution's channel, and the waiters it wakes.

    ``ready`` is set while the subscription is confirmed by Redis; a waiter that finds it unset
    polls the database instead. When the connection breaks, every waiter is woken to re-read the
    database and the thread subscribes again after a second.
    """

    def __init__(self, client):
        self.client = client
        self.pid = os.getpid()
        self.ready = threading.Event()
        self.stopped = threading.Event()
        self._waiters: dict[int, set[threading.Event]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="erpflow-notify", daemon=True).start()

    def register(self, execution_id: int) -> Waiter:
        event = Waiter()
        with self._lock:
            self._waiters.setdefault(execution_id, set()).add(event)
        return event

    def unregister(self, execution_id: int, event: Waiter) -> None:
        with self._lock:
            waiting = self._waiters.get(execution_id)
            if waiting is not None:
                waiting.discard(event)
                if not waiting:
                    del self._waiters[execution_id]

    def _wake(self, execution_id: int | None) -> None:
        """Tell the waiters of ``execution_id`` that it finished, or wake all of them (None) to re-read."""
        with self._lock:
            if execution_id is None:
                events = [event for waiting in self._waiters.values() for event in waiting]
            else:
                events = list(self._waiters.get(execution_id, ()))
        for event in events:
            event.published = execution_id is not None
            event.set()

    def _run(self) -> None:
        while not self.stopped.is_set():
            pubsub = self.client.pubsub()
            try:
                pubsub.psubscribe(CHANNEL_PREFIX + "*")
                while not self.stopped.is_set():
                    message = pubsub.get_message(timeout=RECHECK_SECONDS)
                    if message is None:
                        continue
                    if message["type"] == "psubscribe":
                        self.ready.set()
                    elif message["type"] == "pmessage":
                        self._wake(_execution_id(message["channel"]))
            except Exception as exc:
                if self.ready.is_set():
                    logger.warning("the subscription to finished executions broke (%s)", type(exc).__name__)
            finally:
                self.ready.clear()
                self._wake(None)
                pubsub.close()
            self.stopped.wait(RECHECK_SECONDS)


def _execution_id(name: bytes) -> int | None:
    try:
        return int(name[len(CHANNEL_PREFIX) :])
    except ValueError:
        return None


def _listening() -> Listener | None:
    """The listener of this process for the current client (a new one after a fork or a new client)."""
    global _listener
    client = redis_client()
    if client is None:
        return None
    with _listener_lock:
        if _listener is None or _listener.client is not client or _listener.pid != os.getpid():
            if _listener is not None:
                _listener.stopped.set()
            _listener = Listener(client)
        return _listener


def _is_final(execution_id: int) -> bool:
    """Final, answered early by a respond step, or gone: a waiter has nothing more to wait for."""
    # Sliced rather than ``first()``: no ORDER BY for a lookup by primary key.
    rows = Execution.objects.filter(pk=execution_id).values_list("status", "response")[:1]
    row = next(iter(rows), None)
    return row is None or row[0] in Execution.FINAL or row[1] is not None


def wait_finished(execution_id: int, timeout_s: float) -> bool:
    """True when the execution is in a final state, or has its response, within ``timeout_s`` seconds
    (or no longer exists)."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    listener = _listening()
    # A new listener needs a moment for Redis to confirm its subscription; until then, poll.
    if listener is not None and listener.ready.wait(min(0.5, max(0.0, deadline - time.monotonic()))):
        return _wait_listening(listener, execution_id, deadline)
    return _wait_polling(execution_id, deadline)


def _wait_listening(listener: Listener, execution_id: int, deadline: float) -> bool:
    event = listener.register(execution_id)
    try:
        while True:
            if _is_final(execution_id):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            # The engine publishes only after the final status is committed: its message needs no re-read.
            if event.wait(min(remaining, RECHECK_SECONDS)) and event.published:
                return True
            event.clear()
    finally:
        listener.unregister(execution_id, event)


def _wait_polling(execution_id: int, deadline: float) -> bool:
    interval = 0.01
    while True:
        if _is_final(execution_id):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, 0.25)
