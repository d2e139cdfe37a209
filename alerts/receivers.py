"""Hearing of every ending execution (``flows.signals.execution_finished``) and queueing the work.

The receiver runs in the thread that ended the execution (a worker, a request, the watchdog), so it
only looks whether the execution failed and hands the rest to a task once the ending is committed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from alerts import tasks
from flows.models import Execution


def execution_finished(sender, execution_id: int, execution: Execution | None = None, **_) -> None:
    if execution is not None:
        failed = execution.status == Execution.Status.FAILED
    else:
        failed = Execution.objects.filter(pk=execution_id, status=Execution.Status.FAILED).exists()
    if failed:
        transaction.on_commit(
            lambda: tasks.execution_failed.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE),
            robust=True,  # a broker that refuses the task must not fail the commit that ended the execution
        )
