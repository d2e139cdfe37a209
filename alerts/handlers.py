"""On-failure handlers: a failed execution starts its flow's handler flow with the failure's summary.

The handler runs the version deployed to the failed execution's environment, with trigger
``handler`` and the same correlation id. Executions of handlers never start handlers, so a failing
handler cannot start itself or a chain of others. A handler that cannot start (not deployed there,
disabled) is recorded as a failed delivery on the alerts page and logged; nothing else fails.
The deduplication id makes a redelivered task find the handler execution it already started.
"""

from __future__ import annotations

import logging

from alerts.choices import Channel, Outcome
from alerts.models import AlertDelivery
from alerts.summary import execution_summary
from flows import triggers
from flows.models import Execution

logger = logging.getLogger("erpflow.alerts")


def start_handler(execution: Execution) -> Execution | None:
    """The handler execution started for ``execution`` (or started before), None when none applies or
    it could not start. ``triggers.QueueUnavailable`` is raised: the broker may take it on a retry."""
    if execution.status != Execution.Status.FAILED or execution.trigger == Execution.Trigger.HANDLER:
        return None
    handler = execution.flow.on_failure
    if handler is None or handler.organization_id != execution.organization_id:
        return None
    summary = execution_summary(execution)
    request = triggers.TriggerRequest(
        payload=summary,
        correlation_id=execution.correlation_id,
        deduplication_id=f"on-failure-of-{execution.pk}",
    )
    try:
        started, new = triggers.start(handler, execution.environment, request, trigger=Execution.Trigger.HANDLER)
    except triggers.QueueUnavailable:
        raise
    except triggers.TriggerError as exc:
        logger.warning(
            "execution %s failed; its on-failure handler '%s' did not start: %s", execution.pk, handler.slug, exc
        )
        _record(execution, handler, Outcome.FAILED, summary, error=exc.message)
        return None
    if new:
        _record(execution, handler, Outcome.SENT, {**summary, "handler_execution_id": started.pk})
    return started


def _record(execution: Execution, handler, outcome: str, summary: dict, error: str = "") -> None:
    AlertDelivery.objects.create(
        organization_id=execution.organization_id,
        channel=Channel.HANDLER,
        recipient=f"flow {handler.slug}",
        outcome=outcome,
        error=error,
        summary=summary,
    )
