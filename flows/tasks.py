"""Celery entry points of the flow engine; each takes ids, calls the domain and stays thin."""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import Q
from django.utils import timezone

from config.logging import log_context
from flows import endings, engine, parking, stranded
from flows.leases import lease_seconds
from flows.models import Execution, Flow, FlowVersion
from flows.versions import sync_connector_uses

logger = logging.getLogger("erpflow.tasks")

PRUNE_BATCH = 500
LEASE_RETRIES = 100


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=LEASE_RETRIES)
def run_execution(self, execution_id: int) -> str:
    """One task per execution. A copy delivered while another worker still holds a live lease on it
    (a broker redelivering a long execution) comes back later instead of running it twice; so does
    an execution interrupted by a lost database connection, which then resumes where it stopped."""
    try:
        return _deliver(execution_id)
    except (OperationalError, InterfaceError) as exc:
        raise self.retry(exc=exc, countdown=lease_seconds()) from None
    except _HeldElsewhere:
        raise self.retry(countdown=lease_seconds()) from None


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=LEASE_RETRIES)
def run_executions(self, execution_ids: list[int]) -> str:
    """Several executions in one message (a batch of events, ``flows.batch_start``), run one after
    the other in this worker thread, each exactly as ``run_execution`` runs it.

    A message costs the worker more than a short execution does (receiving, tracing and
    acknowledging it), so a batch's executions travel together. The message is acknowledged once
    every one of them was dealt with: a worker killed halfway has it delivered again, and the
    redelivery resumes each one as ``run_execution`` would (a finished one is not claimed again, a
    finished step is not run again). The ones held by a live lease elsewhere, and a lost database
    connection's current and following ones, come back in one retry message of their own."""
    later: list[int] = []
    for index, execution_id in enumerate(execution_ids):
        try:
            _deliver(execution_id)
        except (OperationalError, InterfaceError) as exc:
            raise self.retry(args=(later + execution_ids[index:],), exc=exc, countdown=lease_seconds()) from None
        except _HeldElsewhere:
            later.append(execution_id)
    if later:
        raise self.retry(args=(later,), countdown=lease_seconds())
    return f"{len(execution_ids)} delivered"


class _HeldElsewhere(Exception):  # noqa: N818 - control flow between ``_deliver`` and the tasks
    """The execution is still running under another delivery's live lease: try again later."""


def _deliver(execution_id: int) -> str:
    """Run (or resume) one execution; its status afterwards. A lost database connection is raised."""
    with log_context(execution_id=execution_id):
        try:
            execution = engine.run(execution_id)
        except Execution.DoesNotExist:
            logger.warning("execution %s no longer exists; nothing to run", execution_id)
            return "missing"
        except (OperationalError, InterfaceError) as exc:
            logger.warning("execution %s: database unavailable (%s); trying again", execution_id, type(exc).__name__)
            raise
    if execution.status == Execution.Status.RUNNING:
        raise _HeldElsewhere(execution_id)
    if execution.status == Execution.Status.WAITING:
        parking.wake_when_due(execution, run_execution)
    return execution.status


@shared_task
def resend_stranded() -> int:
    """Sweep: send again the executions the broker lost (see ``flows.stranded``)."""
    return stranded.resend(run_execution)


@shared_task
def resume_waiting() -> int:
    """Sweep: send the parked executions that are due (see ``flows.parking``)."""
    return parking.resume(run_execution)


@shared_task
def fail_vanished() -> int:
    """Watchdog: end executions whose worker stopped sending heartbeats (killed, lost its host).

    A cancel that was requested becomes ``cancelled``; anything else ``failed``, keeping the steps
    that finished. A broker that redelivers sooner (see ``ERPFLOW_BROKER_VISIBILITY_SECONDS``)
    resumes the execution instead, before this horizon is reached.
    """
    horizon = timezone.now() - timedelta(seconds=settings.ERPFLOW_EXECUTION_VANISHED_SECONDS)
    stale = Q(heartbeat__lt=horizon) | Q(heartbeat__isnull=True, created__lt=horizon)
    ended = 0
    for execution in Execution.objects.filter(stale, status=Execution.Status.RUNNING).only("pk", "cancel_requested"):
        if execution.cancel_requested:
            status, error = Execution.Status.CANCELLED, "Cancelled on request; its worker had stopped responding."
        else:
            status = Execution.Status.FAILED
            error = (
                f"The worker running this execution stopped sending heartbeats for more than "
                f"{settings.ERPFLOW_EXECUTION_VANISHED_SECONDS} s (it was killed or lost its host). "
                "Steps that finished before are kept; replay the execution to run it again."
            )
        now = timezone.now()
        changed = (
            Execution.objects.filter(stale, pk=execution.pk, status=Execution.Status.RUNNING).update(
                status=status, error=error, finished=now
            )
            == 1
        )
        if changed:
            ended += 1
            logger.warning("execution %s: worker vanished, marked %s", execution.pk, status)
            endings.ended(execution.pk)
    return ended


@shared_task
def prune_executions(days: int | None = None) -> int:
    """Retention: delete finished executions older than ``ERPFLOW_EXECUTION_RETENTION_DAYS``, in batches,
    then the draft snapshots no execution refers to any more."""
    days = days if days is not None else settings.ERPFLOW_EXECUTION_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    old = Execution.objects.filter(created__lt=cutoff, status__in=Execution.FINAL)
    deleted = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PRUNE_BATCH])
        if not batch:
            break
        Execution.objects.filter(pk__in=batch).delete()
        deleted += len(batch)
    unused = FlowVersion.objects.filter(snapshot=True, created__lt=cutoff, executions__isnull=True)
    flows = set(unused.values_list("flow_id", flat=True))
    unused.delete()
    for flow in Flow.objects.filter(pk__in=flows):
        sync_connector_uses(flow)
    if deleted:
        logger.info("pruned %s executions older than %s days", deleted, days)
    return deleted
