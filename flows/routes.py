"""Which steps run when routers choose branches: the join rule and the reasons for skipping.

An edge is *live* when its source ran (succeeded, or failed with Ignore Errors) and, for a router,
the edge was among the branches taken. A step runs when it has no incoming edge or at least one
live one: a join waits for all its parents (they come first in the run order) and runs when any
of them reached it, so a parent skipped on an untaken branch does not hold it back. A step none of
whose parents reached it is skipped, with the reason.
"""

from __future__ import annotations

from flows.kinds.condition import branch_label


def ordered_branches(edges: list[dict]) -> list[dict]:
    """A router's outgoing edges in the order they are tried: by ``order``, then as drawn; otherwise last."""
    indexed = list(enumerate(edges))
    indexed.sort(key=lambda pair: (bool(pair[1].get("otherwise")), _order(pair[1]), pair[0]))
    return [edge for _, edge in indexed]


def _order(edge: dict) -> float:
    value = edge.get("order")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else float("inf")


def skip_reason(
    incoming: list[dict], ran: dict[str, bool], taken: dict[str, list[str] | None], names: dict
) -> str | None:
    """None when the step runs; else why not.

    ``ran``: the steps decided so far, True when they ran; ``taken``: for routers that ran, the
    targets of the branches they took (None for other steps: all their edges are live).
    """
    if not incoming:
        return None
    untaken = []
    for edge in incoming:
        source = edge["source"]
        if not ran.get(source):
            continue
        targets = taken.get(source)
        if targets is None or edge["target"] in targets:
            return None
        untaken.append(edge)
    if untaken:
        shown = ", ".join(f"'{branch_label(edge)}'" for edge in untaken)
        return f"Not run: branch {shown} of {_sources(untaken, names)} not taken."
    return "Not run: every step before it was skipped."


def _sources(edges: list[dict], names: dict) -> str:
    shown = sorted({f"'{names.get(edge['source'], edge['source'])}'" for edge in edges})
    return "step " + ", ".join(shown)
