"""Request rate limits per organization and per API token, counted in Redis in one atomic step.

Each limit is a fixed one-minute window: a Lua script reads both counters (the organization's and,
for a bearer token, the token's), and only when both are under their limit increments them, so
concurrent requests on several app servers can never let more through than the limit. The window
is numbered by Redis's own clock, so app servers with drifting clocks share the same window.
A refused request answers 429 with ``Retry-After``: the seconds until the window ends. Webhook
calls count against their organization too (``flows.webhook_receiver``): a webhook URL is an API.
A batch of events counts each event besides the request (``flows.api.events``).

Without ``REDIS_URL`` (``make run`` on one machine) there is nothing shared to count in, and no limit.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from config import redis_client

WINDOW_SECONDS = 60

# KEYS: counter prefixes; ARGV: their limits, then the cost, then the window length. Returns {allowed, retry_after}.
_SCRIPT = """
local now = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[#ARGV])
local cost = tonumber(ARGV[#ARGV - 1])
local number = math.floor(now / window)
local retry = window - (now % window)
for i, prefix in ipairs(KEYS) do
  local count = tonumber(redis.call('GET', prefix .. ':' .. number) or '0')
  if count + cost > tonumber(ARGV[i]) then
    return {0, retry}
  end
end
for i, prefix in ipairs(KEYS) do
  local key = prefix .. ':' .. number
  redis.call('INCRBY', key, cost)
  redis.call('EXPIRE', key, window + 5)
end
return {1, retry}
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


def take(counters: list[tuple[str, int]], cost: int = 1) -> Verdict | None:
    """Count ``cost`` requests (one, or a batch's items) against every counter, or refuse them all;
    None when there is no Redis to count in."""
    client = redis_client.client()
    if client is None:
        return None
    keys = [key for key, _ in counters]
    limits = [limit for _, limit in counters]
    allowed, retry_after = _script(client)(keys=keys, args=[*limits, cost, WINDOW_SECONDS])
    return Verdict(bool(allowed), int(retry_after))


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
