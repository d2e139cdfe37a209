"""Flows as JSON files, so they can live in git and move between installations.

The export holds the draft graph with each connector referenced by *name* (ids differ between
installations and organizations); importing maps names back to the organization's connectors.
Importing a slug that exists replaces that flow's draft (versions stay as they are), which is
what re-importing a file from git means; a new slug creates the flow. Nothing is created or
changed when the file has any problem.
"""

from __future__ import annotations

import copy

from django.db import transaction
from django.utils.text import slugify

from connectors.models import Connector
from flows.choices import USES_CONNECTOR, StepKind
from flows.graph import InvalidGraph, Problem, normalize
from flows.models import Flow
from flows.versions import check_can_change, save_draft

FORMAT = "erpflow.flow"
FORMAT_VERSION = 1


def export_flow(flow: Flow) -> dict:
    """The flow's description and draft graph, connectors by name."""

    graph = copy.deepcopy(normalize(flow.draft))
    ids = {s.get("connector") for s in graph["steps"] if s.get("kind") in USES_CONNECTOR}
    names = dict(Connector.objects.filter(organization_id=flow.organization_id, pk__in=ids).values_list("pk", "name"))
    called = {s.get("flow") for s in graph["steps"] if s.get("kind") == StepKind.CALL_FLOW}
    slugs = dict(Flow.objects.filter(organization_id=flow.organization_id, pk__in=called).values_list("pk", "slug"))
    for step in graph["steps"]:
        if step.get("kind") in USES_CONNECTOR:
            step["connector"] = names.get(step.get("connector"))
        if step.get("kind") == StepKind.CALL_FLOW:
            step["flow"] = slugs.get(step.get("flow"))
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": flow.name,
        "slug": flow.slug,
        "description": flow.description,
        "enabled": flow.enabled,
        "graph": graph,
    }


def _problem(field: str, message: str) -> InvalidGraph:
    return InvalidGraph([Problem(None, field, message)], "The file cannot be imported")


def _read_header(data) -> tuple[str, str, dict]:
    if not isinstance(data, dict):
        raise _problem("file", "The file must hold a JSON object exported by erpflow.")
    if data.get("format") != FORMAT:
        raise _problem("format", f"This is not an erpflow flow export (expected format '{FORMAT}').")
    if data.get("format_version") != FORMAT_VERSION:
        raise _problem(
            "format_version",
            f"Export format version {data.get('format_version')!r} is not supported; expected {FORMAT_VERSION}.",
        )
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _problem("name", "The flow needs a name.")
    slug = slugify(data.get("slug") or name)
    if not slug:
        raise _problem("slug", "The flow needs a slug of letters, digits or hyphens.")
    graph = data.get("graph")
    if not isinstance(graph, dict) or not isinstance(graph.get("steps", []), list):
        raise _problem("graph", "The file has no graph with a list of steps.")
    return name.strip()[:120], slug[:120], graph


def _resolve_references(organization, graph: dict) -> dict:

    graph = copy.deepcopy(graph)
    by_name = dict(Connector.objects.filter(organization=organization).values_list("name", "pk"))
    by_slug = dict(Flow.objects.filter(organization=organization).values_list("slug", "pk"))
    problems = []
    for step in graph.get("steps", []):
        if isinstance(step, dict) and step.get("kind") == StepKind.CALL_FLOW:
            called = step.get("flow")
            if called not in by_slug:
                message = f"Step '{step.get('name')}' calls flow '{called}', which this organization does not have."
                problems.append(Problem(step.get("id"), "flow", message))
            step["flow"] = by_slug.get(called)
        if not isinstance(step, dict) or step.get("kind", StepKind.CONNECTOR) not in USES_CONNECTOR:
            continue
        name = step.get("connector")
        if not isinstance(name, str) or not name:
            problems.append(Problem(step.get("id"), "connector", f"Step '{step.get('name')}' names no connector."))
        elif name not in by_name:
            problems.append(
                Problem(
                    step.get("id"),
                    "connector",
                    f"Step '{step.get('name')}' uses connector '{name}', which this organization does not have; "
                    "create it (same name) first.",
                )
            )
        else:
            step["connector"] = by_name[name]
    if problems:
        raise InvalidGraph(problems, "The file cannot be imported")
    return graph


@transaction.atomic
def import_flow(organization, data, user) -> Flow:
    """Create the flow, or replace the draft of the flow with the same slug; raises ``InvalidGraph``."""
    name, slug, graph = _read_header(data)
    graph = _resolve_references(organization, graph)
    flow = Flow.objects.select_for_update().filter(organization=organization, slug=slug).first()
    if flow is None:
        flow = Flow.objects.create(organization=organization, name=name, slug=slug)
    else:
        check_can_change(flow, user)
    flow.name = name
    flow.description = str(data.get("description") or "")
    flow.enabled = bool(data.get("enabled", True))
    flow.save(update_fields=["name", "description", "enabled", "updated"])
    problems = save_draft(flow, graph, user)
    if problems:
        raise InvalidGraph(problems, "The file cannot be imported")
    return flow
