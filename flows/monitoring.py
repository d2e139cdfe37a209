"""Statistics of executions per flow and step over a time range (the executions list's filters are
``flows.filters``).

Statistics count executions created in a time range by status and give the 50th and 95th
percentile of their *duration* (started to finished: the engine's time) and of their *latency*
(created to finished: what a caller waiting for the result sees, queueing included), both in
milliseconds, interpolated linearly between the two nearest values (PostgreSQL's
``percentile_cont``). PostgreSQL computes them in the database; other databases (the SQLite of
``make run``) compute the same figures in Python.

Events (``flows.events``) are the executions an event started, or a replay of one: the same
figures per use case, and each event with its execution's status, error and timings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Aggregate, Count, F, FloatField, Func, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from flows.models import Execution, Flow, StepRun

DEFAULT_RANGE = timedelta(hours=24)
# An event's execution, or a replay of one (which carries the event in its input too).
EVENTS = Q(trigger=Execution.Trigger.EVENT) | Q(trigger=Execution.Trigger.REPLAY, input__has_key="event")
EVENT_FIELDS = {
    "id": "pk",
    "use_case": "flow__use_case_slug",
    "environment": "environment__slug",
    "event_type": "input__event__type",
    "timestamp": "input__event__timestamp",
    "correlation_id": "correlation_id",
    "deduplication_id": "deduplication_key",
    "ordering_key": "ordering_key",
    "replay_of": "replay_of_id",
    "status": "status",
    "error": "error",
    "created": "created",
    "started": "started",
    "finished": "finished",
}


def parse_moment(value: str, name: str) -> datetime:
    """An ISO 8601 date or date-time; a date means its midnight, a naive time the server's time zone."""
    text = value.strip().replace(" ", "+") if "T" in value else value.strip()
    try:
        moment = parse_datetime(text)
        day = parse_date(text) if moment is None else None
    except ValueError as exc:  # well-formed but impossible, such as 2025-02-30
        raise ValidationError({name: f"'{value}' is not a real date or time ({exc})."}) from None
    if moment is None:
        if day is None:
            raise ValidationError({name: f"'{value}' is not a date or time; use ISO 8601 such as 2025-01-31T08:00Z."})
        moment = datetime(day.year, day.month, day.day)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        # In UTC: PostgreSQL refuses offsets Python accepts (up to 24 hours), such as +22:57.
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValidationError({name: f"'{value}' is out of the range of dates erpflow handles."}) from None


def time_range(params: Mapping[str, Any], now: datetime | None = None) -> tuple[datetime, datetime]:
    """``since`` and ``until`` from ``params``; by default the last 24 hours."""
    now = now or timezone.now()
    until = parse_moment(params["until"], "until") if params.get("until") else now
    since = parse_moment(params["since"], "since") if params.get("since") else until - DEFAULT_RANGE
    if since >= until:
        raise ValidationError({"until": "until must be later than since."})
    return since, until


class _Percentile(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float):
        super().__init__(expression, fraction=float(fraction))


def _milliseconds(start: str, end: str) -> Func:
    return Func(F(end) - F(start), template="EXTRACT(EPOCH FROM %(expressions)s) * 1000", output_field=FloatField())


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks, exactly as ``percentile_cont``."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def stats(executions: QuerySet, since: datetime, until: datetime) -> list[dict]:
    """Per flow with executions created in ``[since, until)``: counts by status, duration and latency percentiles."""
    window = executions.filter(created__gte=since, created__lt=until)
    counts: dict[int, dict[str, int]] = {}
    for flow_id, status, n in window.values_list("flow_id", "status").annotate(n=Count("id")).order_by():
        counts.setdefault(flow_id, {})[status] = n
    finished = window.filter(started__isnull=False, finished__isnull=False)
    figures = _figures_sql(finished) if connection.vendor == "postgresql" else figures_python(finished)
    flows = Flow.objects.filter(pk__in=list(counts)).only("pk", "slug", "name")
    result = []
    for flow in sorted(flows, key=lambda f: f.name.lower()):
        by_status = {status: counts[flow.pk].get(status, 0) for status in Execution.Status.values}
        empty = {"p50": None, "p95": None, "count": 0}
        result.append(
            {
                "flow": {"id": flow.pk, "slug": flow.slug, "name": flow.name},
                "total": sum(by_status.values()),
                "by_status": by_status,
                "duration_ms": figures.get(flow.pk, {}).get("duration_ms", empty),
                "latency_ms": figures.get(flow.pk, {}).get("latency_ms", empty),
            }
        )
    return result


def use_case_stats(executions: QuerySet, since: datetime, until: datetime) -> list[dict]:
    """``stats`` of the executions events started, one entry per use case (by slug)."""
    rows = stats(executions.filter(EVENTS), since, until)
    slugs = dict(Flow.objects.filter(pk__in=[row["flow"]["id"] for row in rows]).values_list("pk", "use_case_slug"))
    return sorted(({"use_case": slugs[row["flow"]["id"]], **row} for row in rows), key=lambda row: row["use_case"])


def events(executions: QuerySet, limit: int) -> list[dict]:
    """The newest ``limit`` executions events started, each with what the event said and how its run went.

    Read field by field (the event's type and timestamp out of the input in the database), so
    that listing a thousand events does not load a thousand payloads.
    """
    rows = executions.filter(EVENTS).order_by("-created", "-pk").values(*EVENT_FIELDS.values())[:limit]
    listed = []
    for row in rows:
        event = {name: row[field] for name, field in EVENT_FIELDS.items()}
        created, started, finished = event["created"], event["started"], event["finished"]
        event["duration_ms"] = _round((finished - started).total_seconds() * 1000) if started and finished else None
        event["latency_ms"] = _round((finished - created).total_seconds() * 1000) if finished else None
        listed.append(event)
    return listed


def _figures_sql(finished: QuerySet) -> dict[int, dict]:
    duration = _milliseconds("started", "finished")
    latency = _milliseconds("created", "finished")
    rows = (
        finished.values("flow_id")
        .annotate(
            n=Count("id"),
            d50=_Percentile(duration, 0.5),
            d95=_Percentile(duration, 0.95),
            l50=_Percentile(latency, 0.5),
            l95=_Percentile(latency, 0.95),
        )
        .order_by()
    )
    return {
        row["flow_id"]: {
            "duration_ms": {"p50": _round(row["d50"]), "p95": _round(row["d95"]), "count": row["n"]},
            "latency_ms": {"p50": _round(row["l50"]), "p95": _round(row["l95"]), "count": row["n"]},
        }
        for row in rows
    }


def figures_python(finished: QuerySet) -> dict[int, dict]:
    """The same figures as ``_figures_sql``, computed in Python (databases without ``percentile_cont``)."""
    durations: dict[int, list[float]] = {}
    latencies: dict[int, list[float]] = {}
    for flow_id, created, started, ended in finished.values_list("flow_id", "created", "started", "finished"):
        durations.setdefault(flow_id, []).append((ended - started).total_seconds() * 1000)
        latencies.setdefault(flow_id, []).append((ended - created).total_seconds() * 1000)
    return {
        flow_id: {
            "duration_ms": {
                "p50": _round(percentile(values, 0.5)),
                "p95": _round(percentile(values, 0.95)),
                "count": len(values),
            },
            "latency_ms": {
                "p50": _round(percentile(latencies[flow_id], 0.5)),
                "p95": _round(percentile(latencies[flow_id], 0.95)),
                "count": len(values),
            },
        }
        for flow_id, values in durations.items()
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


TIMELINE_BUCKETS = 48
TOP_STEPS = 10


def timeline(executions: QuerySet, since: datetime, until: datetime, buckets: int = TIMELINE_BUCKETS) -> dict:
    """Executions created in ``[since, until)`` counted by status in ``buckets`` equal slices of the range.

    Slices are cut in Python from the creation times, so the figures are the same on PostgreSQL and on
    the SQLite of ``make run`` and any range (minutes to weeks) gets a readable number of bars.
    """
    width = (until - since) / buckets
    starts = [since + width * i for i in range(buckets)]
    counts = {status: [0] * buckets for status in Execution.Status.values}
    window = executions.filter(created__gte=since, created__lt=until).values_list("created", "status")
    for created, status in window.iterator(chunk_size=2000):
        index = min(int((created - since) / width), buckets - 1)
        counts[status][index] += 1
    return {"bucket_seconds": width.total_seconds(), "starts": starts, "counts": counts}


def step_figures(executions: QuerySet, since: datetime, until: datetime, limit: int = TOP_STEPS) -> dict:
    """The slowest steps (by p95 duration) and the most failing ones (failed or timed out) of executions
    created in ``[since, until)``, each keyed by flow and step name."""

    failing = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT, StepRun.Status.ERROR_IGNORED)
    runs = StepRun.objects.filter(
        execution__in=executions.filter(created__gte=since, created__lt=until).values("pk")
    ).exclude(status=StepRun.Status.SKIPPED)
    rows: dict[tuple[int, str], dict] = {}
    durations: dict[tuple[int, str], list[float]] = {}
    for flow_id, name, status, duration in runs.values_list(
        "execution__flow_id", "name", "status", "duration_ms"
    ).iterator(chunk_size=5000):
        row = rows.setdefault((flow_id, name), {"name": name, "runs": 0, "failures": 0})
        row["runs"] += 1
        row["failures"] += status in failing
        durations.setdefault((flow_id, name), []).append(duration)
    flows = {
        f.pk: {"id": f.pk, "slug": f.slug, "name": f.name} for f in Flow.objects.filter(pk__in={k[0] for k in rows})
    }
    for key, row in rows.items():
        row["flow"] = flows[key[0]]
        row["p50_ms"] = _round(percentile(durations[key], 0.5))
        row["p95_ms"] = _round(percentile(durations[key], 0.95))
    slowest = sorted(rows.values(), key=lambda r: (-(r["p95_ms"] or 0), r["name"]))[:limit]
    failing_rows = sorted((r for r in rows.values() if r["failures"]), key=lambda r: (-r["failures"], r["name"]))
    return {"slowest": slowest, "failing": failing_rows[:limit]}
