"""What a version's graph means for running it, computed once per process per version.

Versions never change after publishing, so the plan is cached; the key holds the version's
creation time besides its id, so a test database that reuses ids never gets another version's plan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flows import graph as graphs
from flows import retries
from flows.kinds import KINDS
from flows.kinds.respond import RespondKind
from flows.models import FlowVersion
from flows.routes import ordered_branches
from flows.step_names import reference_key

TOP = None  # the group of the steps outside every for-each


@dataclass(frozen=True)
class Plan:
    order: list[dict]  # every step, in run order
    groups: dict[str | None, list[dict]]  # the steps of each for-each body (TOP: the rest), in run order
    upstream: dict[str, set[str]]  # the steps whose outputs a step sees
    incoming: dict[str, list[dict]]  # the edges into each step
    branches: dict[str, list[dict]]  # a router's outgoing edges, in the order they are tried
    positions: dict[str, int]
    names: dict[str, str]
    keys: dict[str, str]
    longest_ms: int | None  # the longest the steps can take, or None when they can take longer than their timeouts
    responds: bool  # a respond step answers the caller before the flow ends


def build(graph: dict) -> Plan:
    graph = graphs.normalize(graph)
    order = graphs.order(graph)
    groups: dict[str | None, list[dict]] = {TOP: []}
    for step in order:
        groups.setdefault(step.get("group") or TOP, []).append(step)
    incoming: dict[str, list[dict]] = {s["id"]: [] for s in order}
    outgoing: dict[str, list[dict]] = {s["id"]: [] for s in order}
    for edge in graph["edges"]:
        incoming[edge["target"]].append(edge)
        outgoing[edge["source"]].append(edge)
    return Plan(
        order=order,
        groups=groups,
        upstream=graphs.visible_upstream(graph),
        incoming=incoming,
        branches={s["id"]: ordered_branches(outgoing[s["id"]]) for s in order if s["kind"] == "condition"},
        positions={s["id"]: index for index, s in enumerate(order)},
        names={s["id"]: s["name"] for s in order},
        keys={s["id"]: reference_key(s["name"]) for s in order},
        longest_ms=_longest_ms(order),
        responds=any(s["kind"] == RespondKind.key for s in order),
    )


def _longest_ms(order: list[dict]) -> int | None:
    """The sum of the steps' timeouts, when every step is one attempt of a kind that ends within its
    timeout; else None: a retry, a delay, a for-each's items or a child flow can take longer."""
    total = 0
    for step in order:
        kind = KINDS.get(step["kind"])
        if kind is None or not kind.ends_within_timeout or retries.policy_of(step) is not None:
            return None
        total += step["timeout_ms"]
    return total


_plans: dict[tuple, Plan] = {}
_lock = threading.Lock()


def plan_of(version_id: int, version_created) -> Plan:
    key = (version_id, version_created)
    plan = _plans.get(key)
    if plan is None:
        plan = build(FlowVersion.objects.values_list("graph", flat=True).get(pk=version_id))
        with _lock:
            if len(_plans) >= 512:
                _plans.clear()
            _plans[key] = plan
    return plan
