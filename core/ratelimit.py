"""Request rate limits per organization and per API token, counted in Redis in one atomic step.

Each limit is a fixed one-minute window: a Lua script reads both counters (the organization's and,
for a bearer token, the token's), and only when both are under their limit increments them, so
concurrent requests on several app servers can never let more through than the limit. The window
is numbered by Redis's own clock, so app servers with drifting clocks share the same window.
A refused request answers 429 with ``Retry-After``: the seconds until the window ends. Webhook
calls count against their organization too (``flows.webhook_receiver``): a webhook URL is an API.
A batch of events counts each event besides the request (``flows.api.events``).

A process counts ahead: while plenty of the window is left (more than 16 times what it takes), the
script grants up to ``AHEAD`` requests more than asked, and the process spends them itself before it
asks Redis again, so most requests cost no round trip. What a process took is counted in Redis, so
the limit still holds across processes; near the limit the script grants no more than asked, so
requests counted ahead but never made (at most ``AHEAD`` per process and counter, fewer close to
the limit) can only make a request be refused a little early, never let one too many through. A
grant ends a second before its window does, as Redis's clock gives it.

Without ``REDIS_URL`` (``make run`` on one machine) there is nothing shared to count in, and no limit.
"""

from __future__ import annotations

import functools
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from config import redis_client

WINDOW_SECONDS = 60
AHEAD = 9  # requests a process may count ahead in one round trip (see the module's docstring)
MAX_GRANTS = 1000  # counter sets a process keeps grants for before it drops the ended ones

# KEYS: counter prefixes; ARGV: their limits, then the cost, how many more to grant at most, and the
# window length. Returns {allowed, retry_after, granted}: granted counts the cost and what is ahead.
_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[#ARGV])
local ahead = tonumber(ARGV[#ARGV - 1])
local cost = tonumber(ARGV[#ARGV - 2])
local number = math.floor(now / window)
local retry = window - (now % window)
local room = nil
for i, prefix in ipairs(KEYS) do
  local left = tonumber(ARGV[i]) - tonumber(redis.call('GET', prefix .. ':' .. number) or '0')
  if room == nil or left < room then room = left end
end
if room < cost then
  return {0, retry, 0}
end
local granted = cost + math.min(ahead, math.floor((room - cost) / 16))
for i, prefix in ipairs(KEYS) do
  local key = prefix .. ':' .. number
  redis.call('INCRBY', key, granted)
  redis.call('EXPIRE', key, window + 5)
end
return {1, retry, granted}
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int


def limits_for(organization_id: int, token_id: int | None) -> list[tuple[str, int]]:
    """The counters a request is counted against, with their limits per minute."""
    counters = [(f"erpflow:ratelimit:org:{organization_id}", settings.ERPFLOW_RATE_LIMIT_ORGANIZATION)]
    if token_id is not None:
        counters.append((f"erpflow:ratelimit:token:{token_id}", settings.ERPFLOW_RATE_LIMIT_TOKEN))
    return counters


class _Grant:
    """Requests a process counted in Redis ahead of making them, spendable until ``until`` (monotonic)."""

    __slots__ = ("left", "until")

    def __init__(self, left: int, until: float):
        self.left, self.until = left, until


_grants: dict[tuple, _Grant] = {}
_grants_lock = threading.Lock()


def take(counters: list[tuple[str, int]], cost: int = 1) -> Verdict | None:
    """Count ``cost`` requests (one, or a batch's items) against every counter, or refuse them all;
    None when there is no Redis to count in."""
    client = redis_client.client()
    if client is None:
        return None
    key = (client, *counters)  # a new client (another Redis) starts afresh
    with _grants_lock:
        grant = _grants.get(key)
        if grant is not None and grant.left >= cost and grant.until > time.monotonic():
            grant.left -= cost
            return Verdict(True, max(1, round(grant.until - time.monotonic())))
    keys = [name for name, _ in counters]
    limits = [limit for _, limit in counters]
    allowed, retry_after, granted = _script(client)(keys=keys, args=[*limits, cost, AHEAD, WINDOW_SECONDS])
    retry_after = int(retry_after)
    if allowed and granted > cost:
        now = time.monotonic()
        with _grants_lock:
            if len(_grants) >= MAX_GRANTS:
                for ended in [name for name, grant in _grants.items() if grant.until <= now]:
                    del _grants[ended]
            _grants[key] = _Grant(int(granted) - cost, now + retry_after - 1)
    return Verdict(bool(allowed), retry_after)


@functools.lru_cache(maxsize=4)
def _script(client):
    """The script registered with ``client``: sent by its digest (EVALSHA), its text only when Redis
    does not know it yet (after a restart)."""
    return client.register_script(_SCRIPT)


def refusal(verdict: Verdict) -> str:
    return (
        f"Too many requests for this organization (at most {settings.ERPFLOW_RATE_LIMIT_ORGANIZATION} a minute); "
        f"try again in {verdict.retry_after} s."
    )


class OrganizationRateThrottle(BaseThrottle):
    """DRF throttle run after authentication and permissions, when the organization is known."""

    def allow_request(self, request, view):
        organization = getattr(request._request, "organization", None)
        if organization is None:
            return True
        # A bearer token authenticates as (user, token); a session as (user, None).
        verdict = take(limits_for(organization.pk, getattr(request.auth, "pk", None)))
        self.retry_after = verdict.retry_after if verdict else None
        return verdict is None or verdict.allowed

    def wait(self):
        return self.retry_after
