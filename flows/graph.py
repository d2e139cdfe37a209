"""The canvas graph: defaults, validation with one message per problem, and the run order.

A graph is ``{"steps": [...], "edges": [{"source": id, "target": id}]}`` (see ARCHITECTURE.md).
A step has ``id``, ``kind`` (``connector`` or ``mapping``), ``name``, ``connector`` (an id, for
connector steps), ``timeout_ms`` (1..60000, default 3000), ``ignore_errors``, ``instruction``
(the connector's native language, or a JSONata expression for a mapping step), ``options`` (for
connector steps: the switches the connector's type declares in ``step_options``) and ``position``.
Keys the editor adds for itself are kept as they are.

Validation never stops at the first problem: the editor shows every problem at once, each naming
its step, so a user fixes a graph in one pass.
"""

from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from typing import Any

from connectors.access import usable_by
from connectors.models import Connector, ConnectorSettings
from expressions.mapping import mapping_step_references, mapping_syntax_error
from expressions.sandbox import step_references
from expressions.template import position
from flows.choices import StepKind
from instructions import check

DEFAULT_TIMEOUT_MS = 3000
MIN_TIMEOUT_MS = 1
MAX_TIMEOUT_MS = 60000
KINDS = tuple(StepKind)
MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 120


class InvalidGraph(Exception):
    """Raised by operations that need a valid graph (publish, deploy, import); carries every problem."""

    def __init__(self, problems: list[Problem], message: str = "The flow has problems"):
        self.problems = problems
        super().__init__(f"{message}: " + " ".join(p.message for p in problems))


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a graph: the step it concerns (None for the graph), the field, a message."""

    step: str | None
    field: str
    message: str
    line: int | None = None
    column: int | None = None

    def as_dict(self) -> dict:
        data: dict[str, Any] = {"step": self.step, "field": self.field, "message": self.message}
        if self.line is not None:
            data["line"], data["column"] = self.line, self.column
        return data

    def __str__(self) -> str:
        return self.message


def reference_key(name: str) -> str:
    """The identifier a step is reachable by in expressions: ``Get customer`` -> ``get_customer``."""
    return re.sub(r"\W+", "_", str(name).strip().lower()).strip("_")


def normalize(graph: Any) -> dict:
    """The graph with defaults filled in; values that are present are left for ``validate`` to judge."""
    graph = graph if isinstance(graph, dict) else {}
    steps = graph.get("steps") if isinstance(graph.get("steps"), list) else []
    edges = graph.get("edges") if isinstance(graph.get("edges"), list) else []
    out_steps = []
    for step in steps:
        if not isinstance(step, dict):
            out_steps.append(step)
            continue
        step = dict(step)
        step.setdefault("kind", StepKind.CONNECTOR.value)
        if step.get("timeout_ms") is None:
            step["timeout_ms"] = DEFAULT_TIMEOUT_MS
        step.setdefault("ignore_errors", False)
        step.setdefault("instruction", "")
        if step["kind"] == StepKind.CONNECTOR:
            step.setdefault("connector", None)
            step.setdefault("options", {})
        if not isinstance(step.get("position"), dict):
            step["position"] = {"x": 0, "y": 0}
        out_steps.append(step)
    out_edges = []
    seen = set()
    for edge in edges:
        key = (edge.get("source"), edge.get("target")) if isinstance(edge, dict) else None
        if key is not None and all(isinstance(end, str) for end in key):
            if key in seen:
                continue
            seen.add(key)
        out_edges.append(edge)
    return {**graph, "steps": out_steps, "edges": out_edges}


def _sort_key(step: dict) -> tuple:
    position = step.get("position") or {}
    return (_number(position.get("y")), _number(position.get("x")), str(step.get("id")))


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def order(graph: dict) -> list[dict]:
    """Steps in topological order; among steps ready at the same time, top to bottom, then left to right.

    Expects a valid graph (no cycles); steps on a cycle would be left out.
    """
    steps = {s["id"]: s for s in graph.get("steps", [])}
    incoming = {sid: 0 for sid in steps}
    children: dict[str, list[str]] = {sid: [] for sid in steps}
    for edge in graph.get("edges", []):
        if edge["source"] in steps and edge["target"] in steps:
            incoming[edge["target"]] += 1
            children[edge["source"]].append(edge["target"])
    ready = [(_sort_key(steps[sid]), sid) for sid, n in incoming.items() if n == 0]
    heapq.heapify(ready)
    ordered = []
    while ready:
        _, sid = heapq.heappop(ready)
        ordered.append(steps[sid])
        for child in children[sid]:
            incoming[child] -= 1
            if incoming[child] == 0:
                heapq.heappush(ready, (_sort_key(steps[child]), child))
    return ordered


def ancestors(graph: dict) -> dict[str, set[str]]:
    """For every step, the ids of all steps upstream of it (transitively); expects no cycles."""
    parents: dict[str, set[str]] = {s["id"]: set() for s in graph.get("steps", [])}
    for edge in graph.get("edges", []):
        if edge["source"] in parents and edge["target"] in parents:
            parents[edge["target"]].add(edge["source"])
    result: dict[str, set[str]] = {}
    for step in order(graph):
        sid = step["id"]
        upstream = set(parents[sid])
        for parent in parents[sid]:
            upstream |= result.get(parent, set())
        result[sid] = upstream
    return result


def validate(graph: Any, organization, user=None, environment=None) -> list[Problem]:
    """Every problem of ``graph`` for ``organization``; empty when the graph can be saved.

    With ``user``, connectors outside that user's scope are problems; with ``environment``
    (deploying), so are connectors that have no settings for that environment.
    """
    if not isinstance(graph, dict):
        return [Problem(None, "graph", "The graph must be an object with 'steps' and 'edges'.")]
    problems = []
    for key in ("steps", "edges"):
        if key in graph and not isinstance(graph[key], list):
            problems.append(Problem(None, key, f"'{key}' must be a list."))
    if problems:
        return problems
    return _Validator(normalize(graph), organization, user, environment).run()


def _label(step: dict) -> str:
    name = step.get("name")
    return f"'{name}'" if isinstance(name, str) and name.strip() else f"'{step.get('id')}'"


class _Validator:
    """One pass over a normalized graph collecting every problem (see ``validate``)."""

    def __init__(self, graph: dict, organization, user, environment):
        self.graph = graph
        self.organization = organization
        self.user = user
        self.environment = environment
        self.problems: list[Problem] = []
        self.steps: dict[str, dict] = {}
        self.connectors: dict[int, Any] = {}

    def add(self, step: dict | None, field: str, message: str, line: int | None = None, column: int | None = None):
        sid = step.get("id") if isinstance(step, dict) and isinstance(step.get("id"), str) else None
        self.problems.append(Problem(sid, field, message, line, column))

    def run(self) -> list[Problem]:
        self.check_steps()
        edges = self.check_edges()
        self.check_cycles(edges)
        self.check_connectors()
        for step in self.steps.values():
            self.check_instruction(step)
            self.check_options(step)
        self.check_references(edges)
        return self.problems

    def check_steps(self) -> None:
        names: dict[str, dict] = {}
        for index, step in enumerate(self.graph["steps"], start=1):
            if not isinstance(step, dict):
                self.add(None, "steps", f"Step {index} is not an object.")
                continue
            sid = step.get("id")
            if not isinstance(sid, str) or not sid.strip():
                self.add(None, "id", f"Step {index} ({_label(step)}) has no id.")
                continue
            if len(sid) > MAX_ID_LENGTH:
                self.add(step, "id", f"Step {_label(step)}: the id is longer than {MAX_ID_LENGTH} characters.")
                continue
            if sid in self.steps:
                self.add(step, "id", f"Step {_label(step)}: the id '{sid}' is already used by another step.")
                continue
            self.steps[sid] = step
            self.check_name(step, names)
            self.check_fields(step)

    def check_name(self, step: dict, names: dict[str, dict]) -> None:
        name = step.get("name")
        if not isinstance(name, str) or not name.strip():
            self.add(step, "name", f"Step '{step['id']}' has no name.")
            return
        if len(name) > MAX_NAME_LENGTH:
            self.add(step, "name", f"Step '{name[:40]}...': the name is longer than {MAX_NAME_LENGTH} characters.")
            return
        key = reference_key(name)
        if not key:
            self.add(step, "name", f"Step '{name}': the name needs at least one letter or digit.")
            return
        if key in names:
            other = names[key]["name"]
            same = "the same name" if other == name else f"a name that clashes with '{other}' ({key})"
            self.add(step, "name", f"Step '{name}' has {same} as another step; names must be unique.")
            return
        names[key] = step

    def check_fields(self, step: dict) -> None:
        label = _label(step)
        if step["kind"] not in KINDS:
            self.add(step, "kind", f"Step {label}: unknown kind {step['kind']!r}; use one of {', '.join(KINDS)}.")
        timeout = step["timeout_ms"]
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            self.add(step, "timeout_ms", f"Step {label}: the timeout must be a whole number of milliseconds.")
        elif not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS:
            self.add(
                step,
                "timeout_ms",
                f"Step {label}: the timeout is {timeout} ms; it must be between {MIN_TIMEOUT_MS} and "
                f"{MAX_TIMEOUT_MS} ms.",
            )
        if not isinstance(step["ignore_errors"], bool):
            self.add(step, "ignore_errors", f"Step {label}: ignore_errors must be true or false.")
        if not isinstance(step["instruction"], str):
            self.add(step, "instruction", f"Step {label}: the instruction must be text.")

    def check_edges(self) -> list[tuple[str, str]]:
        edges = []
        for index, edge in enumerate(self.graph["edges"], start=1):
            if not isinstance(edge, dict):
                self.add(None, "edges", f"Edge {index} is not an object with 'source' and 'target'.")
                continue
            source, target = edge.get("source"), edge.get("target")
            known = [s for s in (source, target) if isinstance(s, str) and s in self.steps]
            missing = [repr(s) for s in (source, target) if not (isinstance(s, str) and s in self.steps)]
            if missing:
                step = self.steps[known[0]] if known else None
                self.add(
                    step,
                    "edges",
                    f"Edge {index} from {source!r} to {target!r} connects to {' and '.join(missing)}, "
                    f"which {'is not a step' if len(missing) == 1 else 'are not steps'} of this flow.",
                )
                continue
            edges.append((source, target))
        return edges

    def check_cycles(self, edges: list[tuple[str, str]]) -> None:
        for component in _cycles(list(self.steps), edges):
            first = min(component, key=lambda sid: _sort_key(self.steps[sid]))
            names = " → ".join(_label(self.steps[sid]) for sid in _cycle_path(first, component, edges))
            self.add(
                self.steps[first],
                "edges",
                f"Steps {names} form a cycle; a flow runs each step once, so remove one of these edges.",
            )

    def check_connectors(self) -> None:

        wanted: dict[int, list[dict]] = {}
        for step in self.steps.values():
            if step["kind"] != StepKind.CONNECTOR:
                continue
            ref = step.get("connector")
            if ref is None or ref == "":
                self.add(step, "connector", f"Step {_label(step)}: choose a connector.")
            elif isinstance(ref, bool) or not isinstance(ref, int):
                self.add(step, "connector", f"Step {_label(step)}: the connector must be given by its id.")
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
                    message = f"Step {_label(step)}: connector {ref} does not exist in this organization."
                    self.add(step, "connector", message)
                elif ref not in usable:
                    self.add(
                        step,
                        "connector",
                        f"Step {_label(step)}: you may not use connector '{connector.name}'; ask an admin to add you "
                        "to its scope.",
                    )
                elif ref not in configured:
                    self.add(
                        step,
                        "connector",
                        f"Step {_label(step)}: connector '{connector.name}' is not configured for the "
                        f"'{self.environment.name}' environment.",
                    )

    def check_options(self, step: dict) -> None:
        if step["kind"] != StepKind.CONNECTOR:
            return
        ref = step.get("connector")
        connector = self.connectors.get(ref) if isinstance(ref, int) else None
        try:
            kind = type(connector.type) if connector is not None else None
        except KeyError:
            return
        if kind is None:
            return
        _, errors = kind.step_option_values(step.get("options"))
        for name, message in errors.items():
            where = "options" if name == "options" else f"option '{name}'"
            self.add(step, "options", f"Step {_label(step)}: {where}: {message}.")

    def check_instruction(self, step: dict) -> None:
        text = step["instruction"]
        if not isinstance(text, str):
            return
        if step["kind"] == StepKind.MAPPING:
            error = mapping_syntax_error(text)
            if error:
                self.add(step, "instruction", f"Step {_label(step)}: {error[2]}", error[0], error[1])
            return
        if step["kind"] != StepKind.CONNECTOR:
            return
        ref = step.get("connector")
        connector = self.connectors.get(ref) if isinstance(ref, int) else None
        if connector is None:
            return
        try:
            kind = connector.type
        except KeyError:
            self.add(
                step,
                "connector",
                f"Step {_label(step)}: connector '{connector.name}' has type '{connector.type_key}', which this "
                "installation does not provide.",
            )
            return

        for found in check(kind.language, text, kind.sql_dialect):
            self.add(step, "instruction", f"Step {_label(step)}: {found}", found.line, found.column)

    def check_references(self, edges: list[tuple[str, str]]) -> None:

        by_name: dict[str, str] = {}
        for sid, step in self.steps.items():
            name = step.get("name")
            if isinstance(name, str) and name.strip():
                by_name.setdefault(name, sid)
                by_name.setdefault(reference_key(name), sid)
        upstream = _upstream(list(self.steps), edges)
        for sid, step in self.steps.items():
            text = step["instruction"]
            if not isinstance(text, str):
                continue
            if step["kind"] == StepKind.MAPPING:
                references = [(name, None) for name in mapping_step_references(text)]
            else:
                references = [(name, offset) for name, offset in step_references(text)]
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
                        "instruction",
                        f"Step {_label(step)} refers to steps.{name}, but no step has that name.",
                        line,
                        column,
                    )
                elif target not in upstream[sid]:
                    other = _label(self.steps[target])
                    self.add(
                        step,
                        "instruction",
                        f"Step {_label(step)} uses the output of step {other}, which is not upstream of it; "
                        f"connect {other} before {_label(step)}.",
                        line,
                        column,
                    )


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


def _cycles(step_ids: list[str], edges: list[tuple[str, str]]) -> list[set[str]]:
    """Strongly connected components that loop: more than one step, or a step with an edge to itself."""
    children: dict[str, list[str]] = {sid: [] for sid in step_ids}
    for source, target in edges:
        children[source].append(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in step_ids:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child_index = work.pop()
            if child_index == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            descended = False
            for i in range(child_index, len(children[node])):
                child = children[node][i]
                if child not in index:
                    work.append((node, i + 1))
                    work.append((child, 0))
                    descended = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if descended:
                continue
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in children[node]:
                    components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _cycle_path(start: str, component: set[str], edges: list[tuple[str, str]]) -> list[str]:
    """One loop through ``component`` from ``start`` back to it, for the message."""
    children: dict[str, list[str]] = {}
    for source, target in edges:
        if source in component and target in component:
            children.setdefault(source, []).append(target)
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for child in sorted(children.get(current, [])):
            if child == start:
                path = [current]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if child not in previous:
                previous[child] = current
                queue.append(child)
    return [start, start]
