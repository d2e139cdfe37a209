"""Deleting a flow with everything that belongs to it, for the API and the flow pages alike."""

from __future__ import annotations

from django.db import transaction

from flows import schedules
from flows.models import Deployment, Execution, Flow


@transaction.atomic
def delete_flow(flow: Flow) -> None:
    """Delete a flow with its executions, deployments, versions, webhooks and schedules.

    Executions and deployments protect the versions they point at, so Django's cascade alone
    refuses to delete a flow that has run; they go first, then the flow (and the beat tasks of its
    schedules, which the database does not link to it).
    """
    schedules.delete_for_flow(flow)
    Execution.objects.filter(flow=flow).delete()
    Deployment.objects.filter(flow=flow).delete()
    flow.delete()
