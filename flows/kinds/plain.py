"""The two kinds every flow had from the start: a connector call and a JSONata mapping."""

from __future__ import annotations

from typing import Any

from connectors import runtime
from expressions import budgets
from expressions.mapping import evaluate_mapping
from flows.kinds.base import Call, Kind
from instructions.render import render_instruction, render_rows


class ConnectorKind(Kind):
    key, label = "connector", "Connector call"

    def normalize(self, step: dict) -> None:
        step.setdefault("connector", None)
        step.setdefault("options", {})

    def run(self, call: Call) -> Any:
        """Render and call; ``call.sent`` receives what went to the connector, recorded even when it fails."""
        step = call.step
        connector = call.delivery.connector(step.get("connector"))
        connector_type = connector.connector_type
        environment = call.delivery.execution.environment
        options = step.get("options") or {}
        if options.get("for_each_row"):
            return self.run_rows(call, connector, connector_type, environment, options)
        with budgets.time_budget(call.deadline.remaining_ms()):  # rendering counts against the step's timeout
            rendered = render_instruction(
                connector_type.language,
                connector_type.paramstyle,
                step["instruction"],
                call.context,
                connector_type.sql_dialect,
            )
        call.sent.text, call.sent.params = rendered.text, rendered.params
        return runtime.call(connector, environment, rendered.text, rendered.params, call.deadline, options)

    def run_rows(self, call: Call, connector, connector_type, environment, options: dict) -> Any:
        """A SQL statement run once per row of a list, in one transaction and round trips of batches."""
        with budgets.time_budget(call.deadline.remaining_ms()):
            bulk = render_rows(
                call.step["instruction"],
                options["for_each_row"],
                call.context,
                connector_type.paramstyle or "pyformat",
                connector_type.sql_dialect,
            )
        call.sent.text, call.sent.params = bulk.text, bulk.recorded()
        return runtime.call_many(connector, environment, bulk.text, bulk.rows, call.deadline, options)


class MappingKind(Kind):
    key, label = "mapping", "Mapping"
    pure = True  # an expression over the properties, nothing more

    def run(self, call: Call) -> Any:
        return evaluate_mapping(call.step["instruction"], call.context, call.step["timeout_ms"])
