"""A router: its outgoing edges carry conditions, and it decides which of them are taken.

Edges are tried in the order the user set (``order``, then their place in the graph); with
``mode: "first"`` the first true edge is taken, with ``"all"`` every true one. An ``otherwise``
edge is taken when no condition held. The step's output names the branches taken, which is what
``flows.routes`` reads to skip the steps behind the others, also after a resume.
"""

from __future__ import annotations

from typing import Any

from expressions.values import truthy, value_of
from flows.kinds.base import Call, Kind, Report

MODES = ("first", "all")


class ConditionKind(Kind):
    key, label = "condition", "Condition"
    routes = True
    pure = True  # an expression over the properties, nothing more

    def normalize(self, step: dict) -> None:
        step.setdefault("mode", "first")

    def check(self, step: dict, report: Report) -> None:
        if step["mode"] not in MODES:
            report("mode", f"the mode is {step['mode']!r}; use 'first' (the first true branch) or 'all'.")

    def run(self, call: Call) -> Any:
        taken, labels = [], []
        fallback = None
        for edge in call.branches:
            if edge.get("otherwise"):
                fallback = edge
                continue
            remaining = call.deadline.remaining_ms()
            if truthy(value_of(edge["condition"], call.context, remaining)):
                taken.append(edge["target"])
                labels.append(branch_label(edge))
                if call.step["mode"] == "first":
                    break
        if not taken and fallback is not None:
            taken.append(fallback["target"])
            labels.append(branch_label(fallback))
        return {"taken": taken, "branches": labels}


def branch_label(edge: dict) -> str:
    """How messages name a branch: its label, its condition, or 'otherwise'."""
    if isinstance(edge.get("label"), str) and edge["label"].strip():
        return edge["label"].strip()
    if edge.get("otherwise"):
        return "otherwise"
    return str(edge.get("condition", "")).strip()
