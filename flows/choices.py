"""The kinds of step a graph holds, by the names the graph contract gives them.

A ``StrEnum``, so a graph read from JSON compares equal to it without conversion, and a kind the
engine does not know is refused by validation (``flows.graph``) rather than met at run time.
"""

from __future__ import annotations

from enum import StrEnum


class StepKind(StrEnum):
    CONNECTOR = "connector"  # calls a connector with an instruction in its native language
    MAPPING = "mapping"  # computes its output from the properties with a JSONata expression
