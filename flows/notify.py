"""Telling a waiting trigger that its execution finished.

A REST trigger with ``wait`` blocks until the execution reaches a final state. With Redis
(``REDIS_URL``) the engine publishes on a per-execution channel and the waiter wakes at once;
without it (the embedded ``make run`` default) the waiter polls the database with a short, growing
interval. Either way the database is the truth: the waiter subscribes first and then reads the
status, so a finish that happens between the two is never missed.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

from flows.models import Execution

logger = logging.getLogger("erpflow.notify")

CHANNEL_PREFIX = "erpflow:execution-finished:"
_client = None
_client_lock = threading.Lock()


def channel(execution_id: int) -> str:
    return f"{CHANNEL_PREFIX}{execution_id}"


def _redis():
    """One client (and connection pool) per process, or None without ``REDIS_URL``."""
    global _client
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    with _client_lock:
        if _client is None:
            import redis

            _client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        return _client


def publish_finished(execution_id: int) -> None:
    """Wake whoever waits for ``execution_id``; a failure only costs the waiter its polling fallback."""
    client = _redis()
    if client is None:
        return
    try:
        client.publish(channel(execution_id), b"1")
    except Exception as exc:
        logger.warning("could not publish the end of execution %s: %s", execution_id, type(exc).__name__)


def _is_final(execution_id: int) -> bool:
    status = Execution.objects.filter(pk=execution_id).values_list("status", flat=True).first()
    return status is None or status in Execution.FINAL


def wait_finished(execution_id: int, timeout_s: float) -> bool:
    """True when the execution is in a final state within ``timeout_s`` seconds (or no longer exists)."""
    deadline = time.monotonic() + max(0.0, timeout_s)
    client = _redis()
    if client is not None:
        try:
            return _wait_redis(client, execution_id, deadline)
        except Exception as exc:
            logger.warning("waiting on Redis failed (%s); polling the database instead", type(exc).__name__)
    return _wait_polling(execution_id, deadline)


def _wait_redis(client, execution_id: int, deadline: float) -> bool:
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    try:
        pubsub.subscribe(channel(execution_id))
        if _is_final(execution_id):
            return True
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _is_final(execution_id)
            # Wake at least every second to re-read the database: a publish can be lost if Redis restarts.
            message = pubsub.get_message(timeout=min(remaining, 1.0))
            if message is not None or _is_final(execution_id):
                return True
    finally:
        pubsub.close()


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
