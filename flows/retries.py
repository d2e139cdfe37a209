"""Retry policies: which failures a step tries again, and how long it waits before each attempt.

A step's ``retry`` is ``{"max_attempts": 1..10, "initial_ms", "multiplier", "max_ms", "jitter",
"on": {...}}``; without one a step runs once. The wait before attempt n+1 is ``initial_ms *
multiplier**(n-1)``, capped at ``max_ms``, spread by ``jitter`` (a fraction: 0.2 is ±20 %) so that
many executions failing together do not retry together; a server's ``Retry-After`` is honoured
when it asks for longer (up to ``MAX_RETRY_AFTER_S``). ``on`` says which failures are worth
another attempt, by the categories connectors report (``connectors.catalog.base.Failure``); a
timeout counts when ``on.timeout`` is set. Ignore Errors applies only after the last attempt.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from connectors.catalog.base import failure_of, retry_on, retryable

MAX_ATTEMPTS = 10
MAX_WAIT_MS = 24 * 3600 * 1000
MAX_RETRY_AFTER_S = 3600.0
DEFAULTS = {"max_attempts": 1, "initial_ms": 1000, "multiplier": 2.0, "max_ms": 60_000, "jitter": 0.2}


@dataclass(frozen=True)
class Policy:
    max_attempts: int
    initial_ms: float
    multiplier: float
    max_ms: float
    jitter: float
    on: dict


def policy_of(step: dict) -> Policy | None:
    """The step's policy with defaults filled in; None when it runs once."""
    retry = step.get("retry")
    if not isinstance(retry, dict):
        return None
    values = {**DEFAULTS, **{k: v for k, v in retry.items() if k in DEFAULTS}}
    if values["max_attempts"] <= 1:
        return None
    on, _ = retry_on(retry.get("on"))
    return Policy(**values, on=on)


def problems(retry: Any) -> list[tuple[str, str]]:
    """(field, message) for every problem of a step's ``retry`` (None means no retries)."""
    if retry is None:
        return []
    if not isinstance(retry, dict):
        return [("retry", "the retry policy must be an object.")]
    found = []
    unknown = sorted(set(retry) - set(DEFAULTS) - {"on"})
    if unknown:
        found.append(("retry", f"the retry policy has unknown fields: {', '.join(unknown)}."))
    bounds = {
        "max_attempts": (1, MAX_ATTEMPTS, int),
        "initial_ms": (0, MAX_WAIT_MS, (int, float)),
        "multiplier": (1, 10, (int, float)),
        "max_ms": (0, MAX_WAIT_MS, (int, float)),
        "jitter": (0, 1, (int, float)),
    }
    for name, (low, high, types) in bounds.items():
        value = retry.get(name, DEFAULTS[name])
        if isinstance(value, bool) or not isinstance(value, types) or not low <= value <= high:
            whole = "a whole number" if types is int else "a number"
            found.append(("retry", f"retry {name} must be {whole} from {low} to {high}."))
    _, errors = retry_on(retry.get("on"))
    found.extend(("retry", f"retry on {name}: {message}.") for name, message in errors.items())
    return found


def wait_before_next(policy: Policy | None, attempt: int, error: BaseException) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None when the step should not be tried again."""
    if policy is None or attempt >= policy.max_attempts:
        return None
    failure = failure_of(error)
    if not retryable(failure, policy.on):
        return None
    wait_ms = min(policy.max_ms, policy.initial_ms * policy.multiplier ** (attempt - 1))
    if policy.jitter:
        wait_ms *= 1 + random.uniform(-policy.jitter, policy.jitter)  # noqa: S311 - spreading, not secrecy
    seconds = max(0.0, wait_ms / 1000)
    retry_after = failure.retry_after_s
    if retry_after:
        seconds = max(seconds, min(float(retry_after), MAX_RETRY_AFTER_S))
    return seconds
