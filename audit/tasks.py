from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEvent


@shared_task
def prune_audit_log(days: int | None = None) -> int:
    """Delete events older than ``ERPFLOW_AUDIT_RETENTION_DAYS``; beat runs it daily. Returns how many."""
    keep = timedelta(days=days if days is not None else settings.ERPFLOW_AUDIT_RETENTION_DAYS)
    deleted, _ = AuditEvent.objects.filter(created__lt=timezone.now() - keep).delete()
    return deleted
