"""A flow's life cycle: save the draft, publish immutable versions, deploy them, compare them.

Executions never run the mutable draft: a published ``FlowVersion`` runs in the environments it is
deployed to, and a test run from the editor runs a *snapshot* of the draft (a version kept out of
the history and never deployable). Every operation validates the graph first and changes nothing
when it has problems. ``ConnectorUse`` rows follow the draft and every version, so a connector any
of them references cannot be deleted.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Max

from accounts.models import Membership
from accounts.policy import Action, allows, rule_for
from flows.graph import InvalidGraph, Problem, normalize, validate
from flows.models import ConnectorUse, Deployment, Flow, FlowVersion

DIFF_FIELDS = ("name", "kind", "connector", "timeout_ms", "ignore_errors", "instruction", "position")


def check_can_change(flow: Flow, user) -> None:
    """A protected flow may only be changed by the roles the permissions table allows (admins and owners)."""

    if user is None or not flow.protected:
        return
    membership = Membership.objects.filter(organization_id=flow.organization_id, user=user).first()
    if not allows(membership, "flows", Action.CHANGE_PROTECTED_FLOWS):
        role = rule_for("flows", Action.CHANGE_PROTECTED_FLOWS).role
        raise PermissionDenied(f"Flow '{flow.name}' is protected: only {role}s may change it.")


def connector_ids(graph: dict) -> set[int]:
    ids = set()
    for step in graph.get("steps", []) if isinstance(graph, dict) else []:
        ref = step.get("connector") if isinstance(step, dict) else None
        if isinstance(ref, int) and not isinstance(ref, bool):
            ids.add(ref)
    return ids


def sync_connector_uses(flow: Flow) -> None:
    """``ConnectorUse`` rows for exactly the connectors the draft or any version of ``flow`` uses."""
    used = connector_ids(flow.draft)
    for graph in FlowVersion.objects.filter(flow=flow).values_list("graph", flat=True):
        used |= connector_ids(graph)
    ConnectorUse.objects.filter(flow=flow).exclude(connector_id__in=used).delete()
    existing = set(ConnectorUse.objects.filter(flow=flow).values_list("connector_id", flat=True))
    ConnectorUse.objects.bulk_create([ConnectorUse(flow=flow, connector_id=cid) for cid in sorted(used - existing)])


@transaction.atomic
def save_draft(flow: Flow, graph: dict, user) -> list[Problem]:
    """Validate and store ``graph`` as the draft; with problems, nothing is saved and they are returned."""
    check_can_change(flow, user)
    problems = validate(graph, flow.organization, user=user)
    if problems:
        return problems
    flow.draft = normalize(graph)
    flow.save(update_fields=["draft", "updated"])
    sync_connector_uses(flow)
    return []


def _locked(flow: Flow) -> Flow:
    return Flow.objects.select_for_update().get(pk=flow.pk)


@transaction.atomic
def publish(flow: Flow, user, message: str = "") -> FlowVersion:
    """Snapshot the draft as the next numbered version; raises ``InvalidGraph`` when the draft has problems."""
    check_can_change(flow, user)
    locked = _locked(flow)
    problems = validate(locked.draft, locked.organization, user=user)
    if not locked.draft.get("steps"):
        problems.append(Problem(None, "steps", "The flow has no steps yet; add a step before publishing."))
    if problems:
        raise InvalidGraph(problems, "The draft cannot be published")
    last = FlowVersion.objects.filter(flow=locked, snapshot=False).aggregate(n=Max("number"))["n"] or 0
    version = FlowVersion.objects.create(
        flow=locked, number=last + 1, graph=normalize(locked.draft), message=message[:500], author=user
    )
    sync_connector_uses(locked)
    return version


@transaction.atomic
def snapshot_draft(flow: Flow, user) -> FlowVersion:
    """A version of the current draft for a test run; an unchanged draft reuses its last snapshot."""
    locked = _locked(flow)
    problems = validate(locked.draft, locked.organization, user=user)
    if not locked.draft.get("steps"):
        problems.append(Problem(None, "steps", "The flow has no steps yet; add a step before running it."))
    if problems:
        raise InvalidGraph(problems, "The draft cannot run")
    graph = normalize(locked.draft)
    latest = FlowVersion.objects.filter(flow=locked, snapshot=True).order_by("-created").first()
    if latest is not None and latest.graph == graph:
        return latest
    version = FlowVersion.objects.create(
        flow=locked, number=0, graph=graph, snapshot=True, message="Test run of the draft", author=user
    )
    sync_connector_uses(locked)
    return version


@transaction.atomic
def deploy(flow: Flow, version: FlowVersion, environment, user) -> Deployment:
    """Point ``environment`` at ``version``; every connector must be configured for that environment."""
    check_can_change(flow, user)
    if version.flow_id != flow.pk:
        raise InvalidGraph([Problem(None, "version", f"Version {version.pk} is not a version of '{flow.name}'.")])
    if version.snapshot:
        raise InvalidGraph([Problem(None, "version", "A draft snapshot cannot be deployed; publish a version.")])
    if environment.organization_id != flow.organization_id:
        raise InvalidGraph([Problem(None, "environment", "That environment does not exist in this organization.")])
    problems = validate(version.graph, flow.organization, user=user, environment=environment)
    if problems:
        raise InvalidGraph(problems, f"Version {version.number} cannot be deployed to {environment.name}")
    deployment, _ = Deployment.objects.update_or_create(
        flow=flow, environment=environment, defaults={"version": version, "deployed_by": user}
    )
    return deployment


def diff(version_a: FlowVersion, version_b: FlowVersion) -> dict:
    """What changed from ``version_a`` to ``version_b``: steps added, removed, changed field by field, edges."""
    return diff_graphs(version_a.graph, version_b.graph) | {
        "from": _version_label(version_a),
        "to": _version_label(version_b),
    }


def _version_label(version: FlowVersion) -> dict:
    return {"id": version.pk, "number": version.number, "snapshot": version.snapshot}


def diff_graphs(graph_a: dict, graph_b: dict) -> dict:
    a = {s["id"]: s for s in normalize(graph_a)["steps"]}
    b = {s["id"]: s for s in normalize(graph_b)["steps"]}
    changed = []
    for sid in [sid for sid in b if sid in a]:
        fields = {}
        for key in sorted(set(a[sid]) | set(b[sid])):
            if key == "id":
                continue
            before, after = a[sid].get(key), b[sid].get(key)
            if before != after:
                fields[key] = {"from": before, "to": after}
        if fields:
            ordered = {k: fields[k] for k in DIFF_FIELDS if k in fields} | fields
            changed.append({"id": sid, "name": b[sid].get("name"), "fields": ordered})
    edges_a = {(e["source"], e["target"]) for e in normalize(graph_a)["edges"]}
    edges_b = {(e["source"], e["target"]) for e in normalize(graph_b)["edges"]}
    return {
        "added": [b[sid] for sid in b if sid not in a],
        "removed": [a[sid] for sid in a if sid not in b],
        "changed": changed,
        "edges": {
            "added": [{"source": s, "target": t} for s, t in sorted(edges_b - edges_a)],
            "removed": [{"source": s, "target": t} for s, t in sorted(edges_a - edges_b)],
        },
    }


def history(flow: Flow):
    """The published versions of ``flow``, newest first, with their authors (for the history view)."""
    return FlowVersion.objects.filter(flow=flow, snapshot=False).select_related("author").order_by("-number")
