"""Sub-executions: a call-flow step starting another flow's deployed version as a child.

A child runs the called flow's version deployed in the parent's environment, with the parent's
correlation id, one level deeper. The call is refused when it would go deeper than
``ERPFLOW_MAX_CALL_DEPTH`` or call a flow that is already running further up the chain (a cycle),
whatever the graphs said when they were published. A child is found again by its parent and the
parent's step (``parent_step``), so a resumed parent waits for the child it started rather than
start a second one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from flows.kinds.base import StepFailed
from flows.models import Deployment, Execution, Flow


def child_of(parent: Execution, where: str) -> Execution | None:
    return Execution.objects.filter(parent=parent, parent_step=where).order_by("pk").first()


def start_child(parent: Execution, flow_id: int, where: str, payload) -> Execution:
    """Insert the child execution, queued; the caller runs it or sends it to the workers."""
    flow = Flow.objects.filter(organization_id=parent.organization_id, pk=flow_id).only("name", "slug").first()
    if flow is None:
        raise StepFailed(f"The called flow {flow_id} no longer exists in this organization.")
    limit = settings.ERPFLOW_MAX_CALL_DEPTH
    if parent.depth + 1 > limit:
        raise StepFailed(f"Calling flow '{flow.name}' would nest calls {parent.depth + 1} deep; the limit is {limit}.")
    chain = _callers(parent)
    if flow.pk in chain:
        raise StepFailed(
            f"Flow '{flow.name}' is already running further up this chain of calls; a flow cannot call itself."
        )
    deployment = (
        Deployment.objects.filter(flow=flow, environment_id=parent.environment_id).select_related("version").first()
    )
    if deployment is None:
        raise StepFailed(f"Flow '{flow.name}' is not deployed in this environment; deploy it before calling it.")
    try:
        with transaction.atomic():
            return Execution.objects.create(
                organization_id=parent.organization_id,
                flow=flow,
                version=deployment.version,
                environment_id=parent.environment_id,
                trigger=Execution.Trigger.CALL,
                input={"payload": payload, "headers": {}, "query": {}},
                correlation_id=parent.correlation_id,
                parent=parent,
                parent_step=where,
                depth=parent.depth + 1,
            )
    except IntegrityError as exc:  # a payload PostgreSQL cannot store
        raise StepFailed(f"The payload for flow '{flow.name}' cannot be stored: {exc}") from None


def _callers(execution: Execution) -> set[int]:
    """The flows of ``execution`` and of every execution above it."""
    flows = {execution.flow_id}
    parent_id = execution.parent_id
    while parent_id is not None:
        row = Execution.objects.filter(pk=parent_id).values("flow_id", "parent_id").first()
        if row is None:
            break
        flows.add(row["flow_id"])
        parent_id = row["parent_id"]
    return flows
