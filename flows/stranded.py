"""Executions the broker lost: found in the database and sent to the workers again.

The database, not the broker, is the record of what must run. Celery's Redis transport has a
window in which a worker killed right after taking a message loses it (it is neither in the queue
nor among the unacknowledged ones), and a broker restarted without persistence loses its queues.
So a periodic sweep sends again every execution that is

- queued, and was created (or last sent again) longer than ``ERPFLOW_EXECUTION_STRANDED_SECONDS`` ago,
  unless it is held behind an unfinished execution with the same ordering key (``flows.ordering``):
  that one is sent when the one before it ends;
- running, with a heartbeat older than the lease (its worker is gone) and not sent again within
  that time.

Sending twice is safe: a delivery claims the execution atomically (``flows.leases``), so a copy
that finds it running under a live lease, or final, does nothing. A queue with a long backlog gets
one extra message per waiting execution per period, which its claim discards.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import Task
from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from flows import ordering
from flows.leases import lease_seconds
from flows.models import Execution

logger = logging.getLogger("erpflow.stranded")

BATCH = 1000


def stranded(now=None):
    """The executions to send again, oldest first."""
    now = now or timezone.now()
    horizon = now - timedelta(seconds=settings.ERPFLOW_EXECUTION_STRANDED_SECONDS)
    stale = now - timedelta(seconds=lease_seconds())
    not_resent_lately = Q(resent__isnull=True) | Q(resent__lt=horizon)
    waiting = Q(status=Execution.Status.QUEUED, created__lt=horizon) & ~ordering.held_rows()
    orphaned = Q(status=Execution.Status.RUNNING) & (Q(heartbeat__lt=stale) | Q(heartbeat__isnull=True))
    return (
        Execution.objects.annotate(since=Coalesce("resent", "created"))
        .filter(finished__isnull=True)  # what the execution_unfinished index holds
        .filter((waiting | orphaned) & not_resent_lately)
        .order_by("since")
    )


def resend(run_execution: Task) -> int:
    """Send the stranded executions again; answers how many were sent.

    The task that runs an execution is given by ``flows.tasks``, whose sweep calls this: it lives
    there, and this module importing it would make the two import each other.
    """
    ids = list(stranded().values_list("pk", flat=True)[:BATCH])
    if not ids:
        return 0
    Execution.objects.filter(pk__in=ids).update(resent=timezone.now())
    sent = 0
    for execution_id in ids:
        try:
            run_execution.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE)
        except Exception as exc:  # unlike a new trigger's, a stranded execution stays: the next sweep retries
            Execution.objects.filter(pk__in=ids[sent:]).update(resent=None)
            logger.warning("the broker refused execution %s (%s); the next sweep tries again", execution_id, exc)
            break
        sent += 1
    logger.warning("sent %s stranded execution(s) to the workers again: %s", sent, ids[:sent])
    return sent
