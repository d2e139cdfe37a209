"""Sync rows: writes a list of source rows into a table of a database connector, keyed by columns.

The step's ``sync`` settings and what they mean are in ``instructions.sync_spec``; the statements
per dialect in ``instructions.sync``, running them in ``connectors.sync``. The output counts what
the step did: ``{"inserted", "updated", "deleted", "unchanged", "rows"}``.
"""

from __future__ import annotations

from typing import Any

from connectors import sync
from flows.kinds.base import Call, Kind, Report
from instructions import sync_spec


class SyncKind(Kind):
    key, label = "sync", "Sync rows"

    def normalize(self, step: dict) -> None:
        step.setdefault("connector", None)
        step.setdefault("sync", {})

    def check(self, step: dict, report: Report) -> None:
        for message in sync_spec.problems(step["sync"]):
            report("sync", message)

    def run(self, call: Call) -> Any:
        connector = call.delivery.connector(call.step.get("connector"))
        environment = call.delivery.execution.environment
        return sync.run(connector, environment, call.step["sync"], call.context, call.deadline)
