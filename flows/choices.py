"""The kinds of step a graph holds, by the names the graph contract gives them.

A ``StrEnum``, so a graph read from JSON compares equal to it without conversion, and a kind the
engine does not know is refused by validation (``flows.graph``) rather than met at run time. What
each kind holds and does is in its module under ``flows.kinds``.
"""

from __future__ import annotations

from enum import StrEnum


class StepKind(StrEnum):
    CONNECTOR = "connector"  # calls a connector with an instruction in its native language
    MAPPING = "mapping"  # computes its output from the properties with a JSONata expression
    CONDITION = "condition"  # routes: its outgoing edges carry conditions
    FOREACH = "foreach"  # runs the steps of its group once per item (or batch) of a list
    CALL_FLOW = "call_flow"  # runs another flow's deployed version as a sub-execution
    RESPOND = "respond"  # sets what a waiting trigger's caller receives
    DELAY = "delay"  # pauses the execution without holding a worker
    SYNC = "sync"  # upserts, deletes or prunes rows of a table through a database connector


# The kinds whose steps name a connector (``connector``: its id), checked and exported alike.
USES_CONNECTOR = (StepKind.CONNECTOR, StepKind.SYNC)
