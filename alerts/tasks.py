"""Celery entry points of alerts; each takes ids or nothing, calls the domain and stays thin."""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from alerts import firing, handlers, summary
from flows.triggers import QueueUnavailable

logger = logging.getLogger("erpflow.alerts")


@shared_task(bind=True, acks_late=True, max_retries=10)
def execution_failed(self, execution_id: int) -> int:
    """Start the flow's on-failure handler and fire the alert rules the failure concerns; returns how
    many alert messages were sent or tried. The broker refusing the handler is retried."""
    execution = summary.load(execution_id)
    if execution is None:
        return 0
    try:
        handlers.start_handler(execution)
    except QueueUnavailable as exc:
        raise self.retry(exc=exc, countdown=30) from None
    return len(firing.on_failure(execution, timezone.now()))


@shared_task
def check_silent_rules() -> int:
    """Beat, every minute: "no success for T minutes" rules; returns how many messages were sent or tried."""
    return len(firing.check_silent(timezone.now()))
