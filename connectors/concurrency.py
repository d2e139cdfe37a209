"""A connector's concurrency limit: at most N calls at once across every worker process.

With Redis each call takes a *slot*: a member of a sorted set per connector and environment,
scored with the time its lease ends. One Lua script drops expired leases, counts and adds
atomically, so two workers cannot both take the last slot. A call waits for a slot inside its
deadline (polling with a short backoff) and fails naming the limit when none frees up. A lease
outlives the call's deadline by ``LEASE_MARGIN`` seconds, so the slot of a worker killed mid-call
frees itself. Without Redis (``make run``'s single machine) the limit holds per process only.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

import redis
from django.conf import settings

from config.redis_client import client as redis_client
from connectors import catalog
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.models import Connector, ConnectorSettings

KEY = "erpflow:concurrency:{connector}:{environment}"
LEASE_MARGIN = 30.0
BUDGET_SECONDS = 30.0
FIRST_POLL, LAST_POLL = 0.002, 0.05
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)

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


@dataclass(frozen=True)
class Budget:
    """Whose slots a call takes (``owner``: a connector id and name) and how many there are."""

    owner_id: int
    owner_name: str
    limit: int
    borrowed: bool


_budgets: dict[tuple, tuple[float, Budget | None]] = {}


@contextmanager
def slot(connector, environment, deadline: Deadline) -> Iterator[None]:
    """Hold one of the connector's concurrent call slots while the block runs (no limit: no slot)."""
    budget = budget_of(connector, environment)
    if budget is None:
        yield
        return
    if getattr(settings, "REDIS_URL", None):
        with _redis_slot(connector, environment, budget, deadline):
            yield
    else:
        with _process_slot(connector, environment, budget, deadline):
            yield


def budget_of(connector, environment) -> Budget | None:
    """The budget a call of ``connector`` in ``environment`` counts against; None for no limit."""
    own = connector.concurrency_limit or None
    if not _has_level(connector):
        return Budget(connector.pk, connector.name, own, False) if own else None
    key = (connector.pk, environment.pk, connector.revision)
    cached = _budgets.get(key)
    if cached is not None and time.monotonic() < cached[0]:
        return cached[1]
    budget = _settings_budget(connector, environment, own)
    if len(_budgets) > 4096:
        _budgets.clear()
    _budgets[key] = (time.monotonic() + BUDGET_SECONDS, budget)
    return budget


def _has_level(connector) -> bool:
    try:
        connector_type = catalog.connector_type(getattr(connector, "type_key", ""))
    except KeyError:
        return False
    return any(field.name == "concurrency_level" for field in connector_type.fields)


def _stored(connector, environment) -> dict:
    rows = ConnectorSettings.objects.filter(connector_id=connector.pk, environment_id=environment.pk)
    return rows.values_list("values", flat=True).first() or {}


def _level(values: dict) -> int | None:
    """The stored level (a whole number; one written as a variable reference counts as none)."""
    level = values.get("concurrency_level")
    return level if isinstance(level, int) and not isinstance(level, bool) and level > 0 else None


def _settings_budget(connector, environment, own: int | None) -> Budget | None:
    values = _stored(connector, environment)
    lender_name = (values.get("borrow_concurrency_from") or "").strip()
    if lender_name and lender_name != connector.name:
        lender = Connector.objects.filter(organization_id=connector.organization_id, name=lender_name).first()
        if lender is None:
            raise ConnectorError(
                f"connector '{connector.name}' borrows the concurrency level of '{lender_name}', "
                "which does not exist in this organization"
            )
        limits = [n for n in (lender.concurrency_limit, _level(_stored(lender, environment))) if n]
        return Budget(lender.pk, lender.name, min(limits), True) if limits else None
    limits = [n for n in (own, _level(values)) if n]
    return Budget(connector.pk, connector.name, min(limits), False) if limits else None


def _refused(connector, budget: Budget, waited: float) -> StepTimeout:
    limit = budget.limit
    calls = f"{limit} simultaneous call{'s' if limit != 1 else ''}"
    if budget.borrowed:
        return StepTimeout(
            f"concurrency limit reached: connector '{connector.name}' shares the concurrency level of "
            f"'{budget.owner_name}', which allows {calls}, and none finished within {waited * 1000:.0f} ms"
        )
    return StepTimeout(
        f"concurrency limit reached: connector '{connector.name}' allows {calls} "
        f"and none finished within {waited * 1000:.0f} ms"
    )


@contextmanager
def _redis_slot(connector, environment, budget: Budget, deadline: Deadline) -> Iterator[None]:
    client = redis_client()
    key = KEY.format(connector=budget.owner_id, environment=environment.pk)
    limit = budget.limit
    member = uuid.uuid4().hex
    started = time.monotonic()
    pause = FIRST_POLL
    unreachable: Exception | None = None
    while True:
        now = time.time()
        lease_ms = int((deadline.remaining() + LEASE_MARGIN) * 1000)
        try:
            args = [now, limit, now + lease_ms / 1000, member, lease_ms]
            taken = _take_script()(keys=[key], args=args, client=client)
            unreachable = None
        except REDIS_DOWN as exc:  # a restarting Redis: keep asking within the deadline
            taken, unreachable = False, exc
            pause = max(pause, LAST_POLL)
        if taken:
            break
        if deadline.remaining() <= 0:
            if unreachable is not None:
                raise StepTimeout(
                    f"the concurrency limit of connector '{connector.name}' could not be checked: Redis was "
                    f"unreachable for {(time.monotonic() - started) * 1000:.0f} ms ({type(unreachable).__name__})"
                )
            raise _refused(connector, budget, time.monotonic() - started)
        time.sleep(min(pause, deadline.remaining()))
        pause = min(pause * 2, LAST_POLL)
    try:
        yield
    finally:
        # The call is done whatever happens here; a slot Redis lost or cannot free now ends with its lease.
        with contextlib.suppress(*REDIS_DOWN):
            client.zrem(key, member)


@contextmanager
def _process_slot(connector, environment, budget: Budget, deadline: Deadline) -> Iterator[None]:
    key = (budget.owner_id, environment.pk, budget.limit)
    with _local_lock:
        semaphore = _local.setdefault(key, threading.BoundedSemaphore(budget.limit))
    started = time.monotonic()
    if not semaphore.acquire(timeout=deadline.remaining()):
        raise _refused(connector, budget, time.monotonic() - started)
    try:
        yield
    finally:
        semaphore.release()
