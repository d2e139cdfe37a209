"""The canvas graph: defaults, validation with one message per problem, and the run order.

A graph is ``{"steps": [...], "edges": [{"source": id, "target": id}]}`` (see ARCHITECTURE.md).
A step has ``id``, ``kind`` (one of ``flows.choices.StepKind``), ``name``, ``timeout_ms``
(1..60000, default 3000), ``ignore_errors``, ``instruction`` (the connector's native language, or a
JSONata expression for a mapping step), ``position``, optionally ``retry`` (``flows.retries``) and
``group`` (the for-each whose body it belongs to), and the fields of its kind (``flows.kinds``:
``connector`` and ``options`` for a connector step, ``items`` for a for-each, ...). An edge leaving
a condition step carries ``condition`` (an expression) or ``otherwise: true``, and may carry
``order`` and ``label``. Keys the editor adds for itself are kept as they are.

Validation never stops at the first problem: the editor shows every problem at once, each naming
its step, so a user fixes a graph in one pass. This module checks the graph's shape (ids, names,
fields, edges, cycles); ``flows.step_checks`` then checks what the steps hold.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any

from expressions.values import value_problem
from flows import retries
from flows.choices import StepKind
from flows.kinds import KINDS, kind_of
from flows.step_checks import StepChecks
from flows.step_names import label, reference_key

DEFAULT_TIMEOUT_MS = 3000
MIN_TIMEOUT_MS = 1
MAX_TIMEOUT_MS = 60000
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
        kind = kind_of(step["kind"]) if isinstance(step["kind"], str) else None
        if kind is not None:
            kind.normalize(step)
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


def visible_upstream(graph: dict) -> dict[str, set[str]]:
    """For every step, the steps whose outputs it sees: its ancestors, and for a step in a for-each's
    body also the ancestors of the for-each (the body runs inside it); expects no cycles."""
    upstream = ancestors(graph)
    for step in graph.get("steps", []):
        group = step.get("group")
        if group in upstream and step["id"] in upstream:
            upstream[step["id"]] = upstream[step["id"]] | upstream[group]
    return upstream


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


class _Validator:
    """One pass over a normalized graph collecting every problem (see ``validate``)."""

    def __init__(self, graph: dict, organization, user, environment):
        self.graph = graph
        self.organization = organization
        self.user = user
        self.environment = environment
        self.problems: list[Problem] = []
        self.steps: dict[str, dict] = {}

    def add(self, step: dict | None, field: str, message: str, line: int | None = None, column: int | None = None):
        sid = step.get("id") if isinstance(step, dict) and isinstance(step.get("id"), str) else None
        self.problems.append(Problem(sid, field, message, line, column))

    def run(self) -> list[Problem]:
        self.check_steps()
        self.check_groups()
        edges = self.check_edges()
        self.check_cycles(edges)
        StepChecks(self.steps, edges, self.organization, self.user, self.environment, self.add).run()
        return self.problems

    def check_steps(self) -> None:
        names: dict[str, dict] = {}
        for index, step in enumerate(self.graph["steps"], start=1):
            if not isinstance(step, dict):
                self.add(None, "steps", f"Step {index} is not an object.")
                continue
            sid = step.get("id")
            if not isinstance(sid, str) or not sid.strip():
                self.add(None, "id", f"Step {index} ({label(step)}) has no id.")
                continue
            if len(sid) > MAX_ID_LENGTH:
                self.add(step, "id", f"Step {label(step)}: the id is longer than {MAX_ID_LENGTH} characters.")
                continue
            if sid in self.steps:
                self.add(step, "id", f"Step {label(step)}: the id '{sid}' is already used by another step.")
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
        named = label(step)
        if not isinstance(step["kind"], str) or step["kind"] not in KINDS:
            self.add(step, "kind", f"Step {named}: unknown kind {step['kind']!r}; use one of {', '.join(KINDS)}.")
        timeout = step["timeout_ms"]
        if isinstance(timeout, bool) or not isinstance(timeout, int):
            self.add(step, "timeout_ms", f"Step {named}: the timeout must be a whole number of milliseconds.")
        elif not MIN_TIMEOUT_MS <= timeout <= MAX_TIMEOUT_MS:
            self.add(
                step,
                "timeout_ms",
                f"Step {named}: the timeout is {timeout} ms; it must be between {MIN_TIMEOUT_MS} and "
                f"{MAX_TIMEOUT_MS} ms.",
            )
        if not isinstance(step["ignore_errors"], bool):
            self.add(step, "ignore_errors", f"Step {named}: ignore_errors must be true or false.")
        if not isinstance(step["instruction"], str):
            self.add(step, "instruction", f"Step {named}: the instruction must be text.")
        kind = kind_of(step["kind"]) if isinstance(step["kind"], str) else None
        if kind is not None:
            kind.check(step, lambda field, message: self.add(step, field, f"Step {named}: {message}"))
        if step.get("retry") is not None and kind is not None and not kind.retries:
            self.add(step, "retry", f"Step {named}: a {kind.label.lower()} step has no retry policy.")
        for field, message in retries.problems(step.get("retry")):
            self.add(step, field, f"Step {named}: {message}")

    def check_groups(self) -> None:
        """A step in a group belongs to a for-each's body; for-each steps do not nest (yet)."""
        for step in self.steps.values():
            group = step.get("group")
            if group is None:
                continue
            owner = self.steps.get(group) if isinstance(group, str) else None
            if owner is None or owner["kind"] != StepKind.FOREACH:
                self.add(step, "group", f"Step {label(step)}: its group {group!r} is not a for-each step of this flow.")
            elif step["kind"] == StepKind.FOREACH:
                self.add(
                    step,
                    "group",
                    f"Step {label(step)}: a for-each inside a for-each is not supported; call a flow that loops "
                    "instead.",
                )

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
            if self.check_edge(index, edge, source, target):
                edges.append((source, target))
        return edges

    def check_edge(self, index: int, edge: dict, source: str, target: str) -> bool:
        """Both ends in the same group, and branch fields only on a router's edges."""
        first, second = self.steps[source], self.steps[target]
        if first.get("group") != second.get("group"):
            self.add(
                second,
                "edges",
                f"Edge {index} from {label(first)} to {label(second)} crosses the border of a for-each; "
                "connect steps inside a for-each's body only to each other.",
            )
            return False
        branch = edge.get("condition") not in (None, "") or edge.get("otherwise")
        if first["kind"] != StepKind.CONDITION:
            if branch:
                self.add(
                    first,
                    "edges",
                    f"Edge {index} from {label(first)} has a condition, but only a condition step's edges may.",
                )
            return True
        condition = edge.get("condition")
        if edge.get("otherwise"):
            if condition not in (None, ""):
                self.add(first, "edges", f"Edge {index} from {label(first)} is 'otherwise' and has a condition too.")
            elif (
                sum(
                    1
                    for e in self.graph["edges"]
                    if isinstance(e, dict) and e.get("source") == source and e.get("otherwise")
                )
                > 1
            ):
                self.add(first, "edges", f"Step {label(first)} has more than one 'otherwise' edge.")
            return True
        problem = value_problem(condition) if isinstance(condition, str) else "it must be an expression (text)"
        if problem:
            self.add(
                first,
                "edges",
                f"Edge {index} from {label(first)} to {label(second)}: the condition {problem}; give one, or "
                "make it the 'otherwise' edge.",
            )
        return True

    def check_cycles(self, edges: list[tuple[str, str]]) -> None:
        for component in _cycles(list(self.steps), edges):
            first = min(component, key=lambda sid: _sort_key(self.steps[sid]))
            names = " → ".join(label(self.steps[sid]) for sid in _cycle_path(first, component, edges))
            self.add(
                self.steps[first],
                "edges",
                f"Steps {names} form a cycle; a flow runs each step once, so remove one of these edges.",
            )


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
