"""What a version's graph means for running it, computed once per process per version.

Versions never change after publishing, so the plan is cached; the key holds the version's
creation time besides its id, so a test database that reuses ids never gets another version's plan.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from flows import graph as graphs
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
    )


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
