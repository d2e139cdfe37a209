"""The Celery application; its settings are the ``CELERY_*`` names in config/settings.py."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("erpflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _start_heartbeat(sender=None, **_):
    from config.health import start_heartbeat

    start_heartbeat(getattr(sender, "hostname", None) or "worker")
