"""Rate limits counted atomically in Redis: concurrent clients on a real HTTP server, never one too many."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from accounts.choices import Scope
from accounts.models import ApiToken
from config import redis_client
from core import ratelimit
from core.ratelimit import WINDOW_SECONDS

CLIENTS = 50
LIMIT = 10


@pytest.fixture
def limited(settings, redis_url, transactional_db):
    """Rate limits on, counted in the test's Redis database, with no counts left from an earlier run."""
    settings.REDIS_URL = redis_url
    redis_client._client = None
    client = redis_client.client()
    for key in client.scan_iter("erpflow:ratelimit:*"):
        client.delete(key)
    yield settings
    redis_client._client = None


def window_left(seconds: float = WINDOW_SECONDS / 2) -> None:
    """Wait for the next window when less than ``seconds`` of this one is left: what a test counts then
    falls in one window (Redis's clock cannot be injected)."""
    now = int(redis_client.client().time()[0])
    left = WINDOW_SECONDS - now % WINDOW_SECONDS
    if left < seconds:
        time.sleep(left + 0.1)


def burst(url: str, tokens: list[str]) -> list[httpx.Response]:
    """``CLIENTS`` requests released together, each from its own connection, round robin over ``tokens``.

    The limits count per minute of Redis's clock: a burst that straddles the minute's end is counted in
    two windows (up to twice the limit let through, as designed). So it starts only when at least half
    the window is left (``window_left``)."""
    window_left()
    start = threading.Barrier(CLIENTS)

    def one(n: int) -> httpx.Response:
        with httpx.Client(timeout=30) as client:
            start.wait()
            return client.get(url, headers={"Authorization": f"Bearer {tokens[n % len(tokens)]}"})

    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(CLIENTS)))


def issue(org, user) -> str:
    return ApiToken.issue(organization=org, user=user, name="burst", scopes=Scope.values)[1]


def test_a_burst_of_50_clients_against_10_per_minute_lets_exactly_10_through(limited, live_server, org, owner):
    limited.ERPFLOW_RATE_LIMIT_ORGANIZATION = LIMIT
    limited.ERPFLOW_RATE_LIMIT_TOKEN = 1000
    tokens = [issue(org, owner) for _ in range(5)]
    responses = burst(f"{live_server.url}/api/v1/environments/", tokens)
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(200) == LIMIT, statuses
    assert statuses.count(429) == CLIENTS - LIMIT, statuses
    refused = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "throttled" in refused.json()["detail"].lower()


def test_the_token_limit_counts_each_token_and_leaves_other_organizations_alone(
    limited, live_server, org, owner, other_org, outsider
):
    limited.ERPFLOW_RATE_LIMIT_ORGANIZATION = 1000
    limited.ERPFLOW_RATE_LIMIT_TOKEN = LIMIT
    tokens = [issue(org, owner), issue(org, owner)]
    statuses = [r.status_code for r in burst(f"{live_server.url}/api/v1/environments/", tokens)]
    assert statuses.count(200) == 2 * LIMIT, statuses
    # Organization A's tokens are spent; organization B's first request is not counted against them.
    response = httpx.get(
        f"{live_server.url}/api/v1/environments/", headers={"Authorization": f"Bearer {issue(other_org, outsider)}"}
    )
    assert response.status_code == 200


def test_an_unauthenticated_request_is_refused_before_it_is_counted(limited, live_server, org, owner):
    limited.ERPFLOW_RATE_LIMIT_ORGANIZATION = 1
    assert httpx.get(f"{live_server.url}/api/v1/environments/").status_code == 401
    token = issue(org, owner)
    assert (
        httpx.get(f"{live_server.url}/api/v1/environments/", headers={"Authorization": f"Bearer {token}"}).status_code
        == 200
    )
    assert (
        httpx.get(f"{live_server.url}/api/v1/environments/", headers={"Authorization": f"Bearer {token}"}).status_code
        == 429
    )


def counted(prefix: str) -> int:
    client = redis_client.client()
    return sum(int(client.get(key)) for key in client.scan_iter(f"{prefix}:*"))


def test_a_process_counts_ten_requests_in_one_round_trip_while_the_limit_is_far(limited, monkeypatch):
    asked = []
    script = ratelimit._script

    def counting(client):
        asked.append(1)
        return script(client)

    monkeypatch.setattr(ratelimit, "_script", counting)
    window_left(5)  # what follows takes milliseconds
    counters = [("erpflow:ratelimit:org:ahead", 1000)]

    assert all(ratelimit.take(counters).allowed for _ in range(25))

    assert len(asked) == 3, "requests 1, 11 and 21 asked Redis; the others were counted ahead"
    assert counted("erpflow:ratelimit:org:ahead") == 30


def test_processes_counting_ahead_near_the_limit_never_let_one_too_many_through(limited, monkeypatch):
    """Three processes (each with grants of its own) take turns until every one is refused."""
    window_left(5)  # what follows takes milliseconds
    counters = [("erpflow:ratelimit:org:near", 100)]
    processes = [{}, {}, {}]
    allowed = 0
    for turn in range(300):
        monkeypatch.setattr(ratelimit, "_grants", processes[turn % 3])
        allowed += ratelimit.take(counters).allowed

    assert 100 - 3 * ratelimit.AHEAD <= allowed <= 100
    assert counted("erpflow:ratelimit:org:near") == 100, "what was counted ahead and never made is counted"
    monkeypatch.setattr(ratelimit, "_grants", {})
    refused = ratelimit.take(counters)
    assert not refused.allowed and 1 <= refused.retry_after <= WINDOW_SECONDS
