"""Executions that wait without a worker: parked by a delay or a retry's long wait, resumed when due.

Parking is one conditional UPDATE by the delivery holding the lease: the execution becomes
``waiting`` with ``resume_at`` and no lease, so no worker thread is held. It comes back two ways,
whichever is first: the task that ran it sends itself again with a countdown when the wait is
short, and the sweep (``resume_waiting``, every ``ERPFLOW_WAITING_SWEEP_SECONDS``) sends every due
execution, which covers long waits, a lost countdown and a restart of everything. The claim
(``flows.leases``) takes a waiting execution only once it is due, and only one delivery gets it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import Task
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from flows.models import Execution

logger = logging.getLogger("erpflow.engine")

COUNTDOWN_HORIZON = timedelta(minutes=5)  # longer waits are left to the sweep: a broker holds ETA messages badly
BATCH = 1000
Status = Execution.Status


def park(execution_id: int, lease: str, until: datetime) -> bool:
    """Park the execution until ``until``; False when this delivery no longer holds it."""
    return (
        Execution.objects.filter(pk=execution_id, lease=lease, status=Status.RUNNING).update(
            status=Status.WAITING, resume_at=until, lease="", heartbeat=timezone.now(), resent=None
        )
        == 1
    )


def wake_when_due(execution: Execution, run_execution: Task) -> None:
    """Send the execution to the workers with a countdown when it is due soon; the sweep does the rest."""
    if execution.resume_at is None:
        return
    wait = execution.resume_at - timezone.now()
    if wait > COUNTDOWN_HORIZON:
        return
    try:
        run_execution.apply_async(
            (execution.pk,), countdown=max(0.0, wait.total_seconds()), queue=settings.ERPFLOW_EXECUTION_QUEUE
        )
    except Exception as exc:  # the sweep sends it when due
        logger.warning("execution %s: could not schedule its resumption (%s)", execution.pk, type(exc).__name__)


def due(now: datetime | None = None):
    """Waiting executions whose time has come and that were not sent since then."""
    now = now or timezone.now()
    not_sent_since = (
        Q(resent__isnull=True)
        | Q(resent__lt=F("resume_at"))
        | Q(resent__lt=now - timedelta(seconds=settings.ERPFLOW_EXECUTION_STRANDED_SECONDS))
    )
    rows = Execution.objects.filter(finished__isnull=True, resume_at__lte=now)  # the execution_resuming index
    return rows.filter(not_sent_since, status=Status.WAITING).order_by("resume_at")


def resume(run_execution: Task) -> int:
    """Send the due executions to the workers; answers how many were sent."""
    ids = list(due().values_list("pk", flat=True)[:BATCH])
    if not ids:
        return 0
    Execution.objects.filter(pk__in=ids).update(resent=timezone.now())
    for sent, execution_id in enumerate(ids):
        try:
            run_execution.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE)
        except Exception as exc:
            Execution.objects.filter(pk__in=ids[sent:]).update(resent=None)
            logger.warning("the broker refused execution %s (%s); the next sweep tries again", execution_id, exc)
            return sent
    return len(ids)
