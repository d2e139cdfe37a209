"""The one Redis client of a process, for all erpflow keeps in Redis: waking requests that wait for an
execution, connector concurrency slots and live pool statistics. It holds its own connection pool,
so every use in the process shares its connections."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_client = None
_lock = threading.Lock()


def client():
    """The client, or None without ``REDIS_URL`` (``make run`` on one machine keeps these per process)."""
    global _client
    url = getattr(settings, "REDIS_URL", None)
    if not url:
        return None
    if _client is not None:
        return _client
    with _lock:
        if _client is None:
            _client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        return _client
