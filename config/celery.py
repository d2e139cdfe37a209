"""The Celery application; its settings are the ``CELERY_*`` names in config/settings.py."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("erpflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _start_heartbeat(sender=None, **_):
    from config.health import start_heartbeat

    start_heartbeat(getattr(sender, "hostname", None) or "worker")


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(task=None, **_):
    """Treat each task as Django treats a request: keep the thread's connection for ``CONN_MAX_AGE``
    and drop it only when it broke or aged. Celery's own Django fixup would instead close it around
    every task (``CELERY_DB_REUSE_MAX`` switches that off), and a new PostgreSQL connection costs
    more than a short execution. An eager task runs inside its caller (a request, a transaction),
    whose connection is not the task's to recycle."""
    from django.db import close_old_connections

    if task is not None and not task.request.is_eager:
        close_old_connections()
