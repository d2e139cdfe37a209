"""Validation of what a graph's steps hold: their connectors, options, instructions and references.

These checks read the database and the instruction languages, where the shape checks of
``flows.graph`` read only the graph; they run after those, on the steps that have a usable id and
on the edges that connect two of them, and report through the same collector, so the editor
still gets every problem of a graph in one list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from connectors.access import usable_by
from connectors.models import Connector, ConnectorSettings
from expressions.mapping import mapping_step_references, mapping_syntax_error
from expressions.sandbox import step_references
from expressions.template import position
from expressions.values import is_template
from flows.choices import USES_CONNECTOR, StepKind
from flows.models import Flow
from flows.step_names import label, reference_key
from instructions import check, sync_spec

# Records one problem: (step, field, message[, line, column]), as ``flows.graph`` collects them.
Report = Callable[..., None]


class StepChecks:
    """The content checks of one validation (see ``flows.graph.validate``)."""

    def __init__(
        self, steps: dict[str, dict], edges: list[tuple[str, str]], organization, user, environment, add: Report
    ):
        self.steps = steps
        self.edges = edges
        self.organization = organization
        self.user = user
        self.environment = environment
        self.add = add
        self.connectors: dict[int, Any] = {}

    def run(self) -> None:
        self.check_called_flows()
        self.check_connectors()
        for step in self.steps.values():
            self.check_instruction(step)
            self.check_options(step)
            self.check_sync_target(step)
        self.check_references()

    def check_connectors(self) -> None:
        wanted: dict[int, list[dict]] = {}
        for step in self.steps.values():
            if step["kind"] not in USES_CONNECTOR:
                continue
            ref = step.get("connector")
            if ref is None or ref == "":
                self.add(step, "connector", f"Step {label(step)}: choose a connector.")
            elif isinstance(ref, bool) or not isinstance(ref, int):
                self.add(step, "connector", f"Step {label(step)}: the connector must be given by its id.")
            else:
                wanted.setdefault(ref, []).append(step)
        if not wanted:
            return
        found = {c.pk: c for c in Connector.objects.filter(organization=self.organization, pk__in=list(wanted))}
        usable = set(found)
        if self.user is not None:
            allowed = usable_by(self.user, self.organization).filter(pk__in=list(found))
            usable = set(allowed.values_list("pk", flat=True))
        configured = set(found)
        if self.environment is not None:
            configured = set(
                ConnectorSettings.objects.filter(connector__in=list(found), environment=self.environment).values_list(
                    "connector_id", flat=True
                )
            )
        self.connectors = found
        for ref, steps in wanted.items():
            for step in steps:
                connector = found.get(ref)
                if connector is None:
                    message = f"Step {label(step)}: connector {ref} does not exist in this organization."
                    self.add(step, "connector", message)
                elif ref not in usable:
                    self.add(
                        step,
                        "connector",
                        f"Step {label(step)}: you may not use connector '{connector.name}'; ask an admin to add you "
                        "to its scope.",
                    )
                elif ref not in configured:
                    self.add(
                        step,
                        "connector",
                        f"Step {label(step)}: connector '{connector.name}' is not configured for the "
                        f"'{self.environment.name}' environment.",
                    )

    def check_called_flows(self) -> None:
        wanted = {s["flow"] for s in self.steps.values() if s["kind"] == StepKind.CALL_FLOW and _is_id(s.get("flow"))}
        found = set(Flow.objects.filter(organization=self.organization, pk__in=wanted).values_list("pk", flat=True))
        for step in self.steps.values():
            if step["kind"] == StepKind.CALL_FLOW and _is_id(step.get("flow")) and step["flow"] not in found:
                self.add(step, "flow", f"Step {label(step)}: flow {step['flow']} does not exist in this organization.")

    def check_sync_target(self, step: dict) -> None:
        """A sync step writes through a database connector: one whose instructions are SQL."""
        connector = self.connectors.get(step.get("connector")) if step["kind"] == StepKind.SYNC else None
        if connector is None:
            return
        try:
            language = connector.connector_type.language
        except KeyError:
            return
        if language != "sql":
            self.add(
                step,
                "connector",
                f"Step {label(step)}: connector '{connector.name}' is not a database; a sync step writes into a "
                "table of a PostgreSQL, MySQL/MariaDB, SQLite or Oracle connector.",
            )

    def check_options(self, step: dict) -> None:
        if step["kind"] != StepKind.CONNECTOR:
            return
        ref = step.get("connector")
        connector = self.connectors.get(ref) if isinstance(ref, int) else None
        try:
            connector_type = type(connector.connector_type) if connector is not None else None
        except KeyError:
            return
        if connector_type is None:
            return
        _, errors = connector_type.step_option_values(step.get("options"))
        for name, message in errors.items():
            where = "options" if name == "options" else f"option '{name}'"
            self.add(step, "options", f"Step {label(step)}: {where}: {message}.")

    def check_instruction(self, step: dict) -> None:
        text = step["instruction"]
        if not isinstance(text, str):
            return
        if step["kind"] == StepKind.MAPPING:
            error = mapping_syntax_error(text)
            if error:
                self.add(step, "instruction", f"Step {label(step)}: {error[2]}", error[0], error[1])
            return
        if step["kind"] != StepKind.CONNECTOR:
            return
        ref = step.get("connector")
        connector = self.connectors.get(ref) if isinstance(ref, int) else None
        if connector is None:
            return
        try:
            connector_type = connector.connector_type
        except KeyError:
            self.add(
                step,
                "connector",
                f"Step {label(step)}: connector '{connector.name}' has type '{connector.type_key}', which this "
                "installation does not provide.",
            )
            return
        for found in check(connector_type.language, text, connector_type.sql_dialect):
            self.add(step, "instruction", f"Step {label(step)}: {found}", found.line, found.column)

    def check_references(self) -> None:
        by_name: dict[str, str] = {}
        for sid, step in self.steps.items():
            name = step.get("name")
            if isinstance(name, str) and name.strip():
                by_name.setdefault(name, sid)
                by_name.setdefault(reference_key(name), sid)
        upstream = _upstream(list(self.steps), self.edges)
        for sid, step in self.steps.items():
            group = step.get("group")
            if group in upstream:
                upstream[sid] = upstream[sid] | upstream[group]
        for sid, step in self.steps.items():
            for field, text, references in _references(step):
                self.check_reachable(sid, step, field, text, references, upstream, by_name)

    def check_reachable(
        self, sid: str, step: dict, field: str, text: str, references, upstream: dict, by_name: dict
    ) -> None:
        """Each step an expression of ``step`` names must exist and be upstream of it."""
        reported = set()
        for name, offset in references:
            if name in reported:
                continue
            reported.add(name)
            line = column = None
            if offset is not None:
                where = position(text, offset)
                line, column = where.line, where.column
            target = by_name.get(name)
            if target is None:
                self.add(
                    step,
                    field,
                    f"Step {label(step)} refers to steps.{name}, but no step has that name.",
                    line,
                    column,
                )
            elif target not in upstream[sid]:
                other = label(self.steps[target])
                self.add(
                    step,
                    field,
                    f"Step {label(step)} uses the output of step {other}, which is not upstream of it; "
                    f"connect {other} before {label(step)}.",
                    line,
                    column,
                )


EXPRESSION_FIELDS = ("items", "payload", "body", "until")


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _references(step: dict) -> list[tuple[str, str, list[tuple[str, int | None]]]]:
    """(field, text, [(step name, offset or None)]) for each expression the step holds."""
    found = []
    text = step["instruction"]
    if isinstance(text, str) and step["kind"] in (StepKind.MAPPING, StepKind.CONNECTOR):
        if step["kind"] == StepKind.MAPPING:
            found.append(("instruction", text, [(name, None) for name in mapping_step_references(text)]))
        else:
            found.append(("instruction", text, list(step_references(text))))
    rows = (step.get("options") or {}).get("for_each_row") if isinstance(step.get("options"), dict) else None
    if step["kind"] == StepKind.CONNECTOR and isinstance(rows, str):
        found.append(("options", rows, list(step_references(rows))))
    if step["kind"] == StepKind.SYNC:
        found.append(("sync", "", [(name, None) for name in sync_spec.references(step.get("sync"))]))
    for field in EXPRESSION_FIELDS:
        value = step.get(field)
        if field in step and isinstance(value, str) and value.strip() and step["kind"] != StepKind.CONNECTOR:
            if is_template(value):
                found.append((field, value, list(step_references(value))))
            else:
                found.append((field, value, [(name, None) for name in mapping_step_references(value)]))
    return found


def _upstream(step_ids: list[str], edges: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Steps reachable backwards from each step (works on graphs with cycles too)."""
    parents: dict[str, set[str]] = {sid: set() for sid in step_ids}
    for source, target in edges:
        parents[target].add(source)
    result = {}
    for sid in step_ids:
        seen: set[str] = set()
        stack = list(parents[sid])
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(parents[current])
        result[sid] = seen
    return result
