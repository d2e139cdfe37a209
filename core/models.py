from __future__ import annotations

from django.db import models
from django.utils import timezone


class WorkerHeartbeat(models.Model):
    """The last sign of life of one Celery worker, read by /healthz (installation-wide, no tenant)."""

    hostname = models.CharField(max_length=255, unique=True)
    seen = models.DateTimeField()

    def __str__(self) -> str:
        return self.hostname

    @classmethod
    def beat(cls, hostname: str) -> None:
        cls.objects.update_or_create(hostname=hostname, defaults={"seen": timezone.now()})
