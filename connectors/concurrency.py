"""A connector's concurrency limit: at most N calls at once across every worker process.

With Redis each call takes a *slot*: a member of a sorted set per connector and environment,
scored with the time its lease ends. One Lua script drops expired leases, counts and adds
atomically, so two workers cannot both take the last slot. A call waits for a slot inside its
deadline (polling with a short backoff) and fails naming the limit when none frees up. A lease
outlives the call's deadline by ``LEASE_MARGIN`` seconds, so the slot of a worker killed mid-call
frees itself. Without Redis (``make run``'s single machine) the limit holds per process only.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings

from config.redis_client import client as redis_client
from connectors.catalog.base import Deadline, StepTimeout

KEY = "erpflow:concurrency:{connector}:{environment}"
LEASE_MARGIN = 30.0
FIRST_POLL, LAST_POLL = 0.002, 0.05

_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
    redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
    redis.call('PEXPIRE', KEYS[1], ARGV[5])
    return 1
end
return 0
"""


@lru_cache(maxsize=1)
def _take_script():
    return redis_client().register_script(_TAKE)


_local: dict[tuple, threading.BoundedSemaphore] = {}
_local_lock = threading.Lock()


@contextmanager
def slot(connector, environment, deadline: Deadline) -> Iterator[None]:
    """Hold one of the connector's concurrent call slots while the block runs (no limit: no slot)."""
    limit = connector.concurrency_limit
    if not limit:
        yield
        return
    if getattr(settings, "REDIS_URL", None):
        with _redis_slot(connector, environment, limit, deadline):
            yield
    else:
        with _process_slot(connector, environment, limit, deadline):
            yield


def _refused(connector, limit: int, waited: float) -> StepTimeout:
    return StepTimeout(
        f"concurrency limit reached: connector '{connector.name}' allows {limit} simultaneous "
        f"call{'s' if limit != 1 else ''} and none finished within {waited * 1000:.0f} ms"
    )


@contextmanager
def _redis_slot(connector, environment, limit: int, deadline: Deadline) -> Iterator[None]:
    client = redis_client()
    key = KEY.format(connector=connector.pk, environment=environment.pk)
    member = uuid.uuid4().hex
    started = time.monotonic()
    pause = FIRST_POLL
    while True:
        now = time.time()
        lease_ms = int((deadline.remaining() + LEASE_MARGIN) * 1000)
        taken = _take_script()(keys=[key], args=[now, limit, now + lease_ms / 1000, member, lease_ms], client=client)
        if taken:
            break
        if deadline.remaining() <= 0:
            raise _refused(connector, limit, time.monotonic() - started)
        time.sleep(min(pause, deadline.remaining()))
        pause = min(pause * 2, LAST_POLL)
    try:
        yield
    finally:
        client.zrem(key, member)


@contextmanager
def _process_slot(connector, environment, limit: int, deadline: Deadline) -> Iterator[None]:
    key = (connector.pk, environment.pk, limit)
    with _local_lock:
        semaphore = _local.setdefault(key, threading.BoundedSemaphore(limit))
    started = time.monotonic()
    if not semaphore.acquire(timeout=deadline.remaining()):
        raise _refused(connector, limit, time.monotonic() - started)
    try:
        yield
    finally:
        semaphore.release()
