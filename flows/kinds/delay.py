"""Delay / wait until: pauses the execution for a time, or until a moment an expression gives.

A pause of up to ``ERPFLOW_INLINE_WAIT_SECONDS`` sleeps in the worker (woken early by a cancel);
a longer one parks the execution in the database (status ``waiting``) and frees the worker; it is
sent to the workers again when due and continues after this step, also after a restart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from expressions.values import value_of, value_problem
from flows.kinds.base import Call, Kind, Parked, Report, StepFailed

MAX_DELAY_MS = 30 * 24 * 3600 * 1000  # thirty days


class DelayKind(Kind):
    key, label = "delay", "Delay"
    retries = False
    ends_within_timeout = False

    def normalize(self, step: dict) -> None:
        step.setdefault("delay_ms", None)
        step.setdefault("until", "")

    def check(self, step: dict, report: Report) -> None:
        delay, until = step["delay_ms"], step["until"]
        has_until = isinstance(until, str) and until.strip()
        if delay is None and not has_until:
            report("delay_ms", "give a pause in milliseconds (delay_ms) or a moment to wait until (until).")
        if delay is not None and has_until:
            report("until", "give either delay_ms or until, not both.")
        if delay is not None and (
            isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY_MS
        ):
            report("delay_ms", f"delay_ms must be a whole number from 0 to {MAX_DELAY_MS} (thirty days).")
        if has_until:
            problem = value_problem(until)
            if problem:
                report("until", f"the moment to wait until: {problem}.")
        elif not isinstance(until, str):
            report("until", "until must be an expression (text).")

    def run(self, call: Call) -> Any:
        now = timezone.now()
        if call.earlier is not None:
            until = parse_datetime(call.earlier.output["until"])
        elif call.step["delay_ms"] is not None:
            until = now + timedelta(milliseconds=call.step["delay_ms"])
        else:
            until = _moment(value_of(call.step["until"], call.context, call.deadline.remaining_ms()))
        remaining = (until - now).total_seconds()
        if remaining > call.delivery.inline_wait_seconds():
            raise Parked(until, {"until": until.isoformat()})
        if remaining > 0:
            call.delivery.sleep(remaining)  # a cancel wakes it, and the engine stops before the next step
        return {"until": until.isoformat(), "waited_until": timezone.now().isoformat()}


def _moment(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and (moment := parse_datetime(value.strip())) is not None:
        pass
    else:
        raise StepFailed(f"The moment to wait until is {value!r}; give an ISO 8601 date and time.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.utc)
    return moment
