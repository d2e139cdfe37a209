"""What a trigger answers about the execution it started, the same from the REST trigger, a test run
and a webhook: the execution while it is under way, its outcome once it ended."""

from __future__ import annotations

from django.db.models import Prefetch, prefetch_related_objects
from rest_framework import status

from flows import notify
from flows.execution_serializers import ExecutionResultSerializer, ExecutionSerializer
from flows.models import Execution, StepRun

OUTCOME_FIELDS = ["status", "output", "error", "started", "finished", "attempts", "cancel_requested"]
STEP_SUMMARY_FIELDS = ["execution_id", "position", "step_id", "name", "status", "duration_ms", "error"]


def execution_outcome(request, execution: Execution, *, wait: int, created: bool) -> tuple[dict, int, dict]:
    """What a trigger answers (body, status, headers): 202 while the execution is under way, else its
    outcome with step summaries.

    With ``wait`` the call blocks up to that many seconds for a final state. A deduplicated
    trigger (``created`` false) answers 200 with the first execution, whatever its state.
    """
    if wait and not execution.is_final:
        notify.wait_finished(execution.pk, wait)
    if wait or not created:
        # Only the outcome changed since the trigger loaded the execution with its flow and version.
        execution.refresh_from_db(fields=OUTCOME_FIELDS)
        prefetch_related_objects([execution], Prefetch("steps", queryset=StepRun.objects.only(*STEP_SUMMARY_FIELDS)))
    context = {"request": request}
    if execution.is_final:
        data = ExecutionResultSerializer(execution, context=context).data
    else:
        data = ExecutionSerializer(execution, context=context).data
    code = status.HTTP_200_OK if execution.is_final or not created else status.HTTP_202_ACCEPTED
    headers = {"Location": data["url"], "X-Correlation-ID": execution.correlation_id}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return data, code, headers
