"""What keeps a worker's memory flat from one execution to the next (bench/soak.py measures it)."""

from __future__ import annotations

import pytest
from celery.signals import task_prerun
from django.db import connection

from flows.models import Execution
from flows.tasks import run_execution


@pytest.mark.django_db(transaction=True)
def test_a_task_starts_without_the_queries_logged_under_debug_before_it(settings):
    """Under DEBUG Django logs every query of a connection (each step record with its output) until a
    request starts; a worker serves no requests, so its tasks must clear the log themselves."""
    settings.DEBUG = True
    for _ in range(3):
        Execution.objects.count()
    assert len(connection.queries_log) >= 3

    task_prerun.send(sender=run_execution, task_id="next", task=run_execution, args=(1,), kwargs={})

    assert len(connection.queries_log) == 0
