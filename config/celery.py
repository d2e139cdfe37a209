"""The Celery application; its settings are the ``CELERY_*`` names in config/settings.py."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun
from django.db import close_old_connections, reset_queries
from kombu.transport import TRANSPORT_ALIASES

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# "filesystem://" (the broker of `make run`) names erpflow's variant of kombu's filesystem transport, whose
# message files appear only whole (config/broker.py), in every process that loads this app. By URL scheme
# rather than Celery's broker_transport setting, which would also apply to any other URL a process is given.
TRANSPORT_ALIASES["filesystem"] = "config.broker:Transport"

app = Celery("erpflow")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _recycle_database_connections(task=None, **_):
    """Treat each task as Django treats a request: keep the thread's connection for ``CONN_MAX_AGE``
    and drop it only when it broke or aged. Celery's own Django fixup would instead close it around
    every task (``CELERY_DB_REUSE_MAX`` switches that off), and a new PostgreSQL connection costs
    more than a short execution. An eager task runs inside its caller (a request, a transaction),
    whose connection is not the task's to recycle."""
    if task is not None and not task.request.is_eager:
        between_tasks()


def between_tasks() -> None:
    """What Django does at each request's start: forget the queries logged under ``DEBUG`` (up to
    9,000 per thread's connection, each with its step record's output, which nothing else clears
    in a worker) and replace a connection that broke or aged."""
    reset_queries()
    close_old_connections()
