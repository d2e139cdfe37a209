"""What a trigger answers about the execution it started, the same from the REST trigger, a test run
and a webhook: the execution while it is under way, its outcome once it ended, or what a respond
step set.

A waited trigger whose flow has a respond step answers with that step's status, headers and body as
they are. Without one, the answer is the execution: 200 with ``status: failed`` when it failed (the
body says what went wrong and a caller reads it), unless the caller asked for ``fail_status`` (a
4xx or 5xx to answer instead, for callers that only look at the HTTP status).
"""

from __future__ import annotations

import functools
import json

from django.db.models import Prefetch, prefetch_related_objects
from django.http import HttpResponse
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from rest_framework import status

from flows import notify
from flows.execution_serializers import ExecutionSerializer
from flows.models import Execution, StepRun

OUTCOME_FIELDS = ["status", "output", "error", "started", "finished", "attempts", "cancel_requested", "response"]
JSON = "application/json"
# Every field the step summaries show (``StepSummarySerializer``): one left out is read back per step.
STEP_SUMMARY_FIELDS = [
    "execution_id",
    "position",
    "scope",
    "item",
    "step_id",
    "name",
    "status",
    "attempt",
    "duration_ms",
    "error",
]


def execution_outcome(
    request,
    execution: Execution,
    *,
    wait: int,
    created: bool,
    fail_status: int | None = None,
    waited: bool = False,
    steps: list[StepRun] | None = None,
) -> tuple[dict, int, dict]:
    """What a trigger answers (body, status, headers): 202 while the execution is under way, else its
    outcome with step summaries.

    With ``wait`` the call blocks up to that many seconds for a final state, unless the trigger
    ``waited`` already (it ran the execution itself: ``flows.eager``; a final execution it holds is
    current). A deduplicated trigger (``created`` false) answers 200 with the first execution,
    whatever its state. ``steps``, every record of an execution that ran here to its end, spares
    reading them back.
    """
    if steps is not None and execution.is_final:
        return _answer(execution, result(request, execution, steps), fail_status, created)
    if wait and not waited and not execution.is_final:
        notify.wait_finished(execution.pk, wait)
    if wait or not created:
        if not (waited and execution.is_final):
            # Only the outcome changed since the trigger loaded the execution with its flow and version.
            execution.refresh_from_db(fields=OUTCOME_FIELDS)
        prefetch_related_objects([execution], Prefetch("steps", queryset=StepRun.objects.only(*STEP_SUMMARY_FIELDS)))
    if execution.is_final:
        data = result(request, execution, list(execution.steps.all()))  # the steps prefetched just above
    else:
        data = ExecutionSerializer(execution, context={"request": request}).data
    return _answer(execution, data, fail_status, created)


def _answer(execution: Execution, data: dict, fail_status: int | None, created: bool) -> tuple[dict, int, dict]:
    code = status.HTTP_200_OK if execution.is_final or not created else status.HTTP_202_ACCEPTED
    if fail_status and execution.status == Execution.Status.FAILED:
        code = fail_status
    headers = {"Location": data["url"], "X-Correlation-ID": execution.correlation_id}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return data, code, headers


def _moment(value, zone) -> str | None:
    """An execution's (aware) moment as DRF's ``DateTimeField`` shows it: ISO 8601 in the current time
    zone, UTC as ``Z``. The zone is looked up once per answer rather than once per moment."""
    if not value:
        return None
    text = value.astimezone(zone).isoformat()
    return text.removesuffix("+00:00") + "Z" if text.endswith("+00:00") else text


def result(request, execution: Execution, steps: list[StepRun]) -> dict:
    """What ``ExecutionResultSerializer`` makes of ``execution`` with ``steps``, built directly: on a
    trigger's answer, serializing through DRF cost more than running a short flow (a quarter of the
    web's CPU for an answer read back after a worker ran the flow). A test keeps the two equal."""
    version = execution.version
    moment = functools.partial(_moment, zone=timezone.get_current_timezone())
    return {
        "id": execution.pk,
        "url": request.build_absolute_uri(_detail_path(get_script_prefix()).format(execution.pk)),
        "flow": {"id": execution.flow.pk, "slug": execution.flow.slug, "name": execution.flow.name},
        "version": version.number,
        "draft_snapshot": version.snapshot,
        "environment": execution.environment.slug,
        "trigger": execution.trigger,
        "status": execution.status,
        "correlation_id": execution.correlation_id,
        "deduplication_id": execution.deduplication_key,
        "replay_of": execution.replay_of_id,
        "started_by": execution.started_by.username if execution.started_by_id else None,
        "created": moment(execution.created),
        "started": moment(execution.started),
        "finished": moment(execution.finished),
        "duration_ms": execution.duration_ms,
        "error": execution.error,
        "output": execution.output,
        "steps": [
            {
                "position": step.position,
                "scope": step.scope,
                "item": step.item,
                "step_id": step.step_id,
                "name": step.name,
                "status": step.status,
                "attempt": step.attempt,
                "duration_ms": step.duration_ms,
                "error": step.error,
            }
            for step in sorted(steps, key=lambda step: step.position)
        ],
    }


@functools.lru_cache(maxsize=16)
def _detail_path(script_prefix: str) -> str:
    """The path of an execution's API page with ``{}`` for its id: reversed once per script prefix,
    as reversing it per answer cost a twentieth of the request."""
    marker = "4815162342"
    return reverse("execution-detail", kwargs={"pk": marker}).replace(marker, "{}")


def responded(execution: Execution) -> HttpResponse | None:
    """The answer a respond step set, as an HTTP response; None when none did."""
    response = execution.response
    if not isinstance(response, dict):
        return None
    headers = dict(response.get("headers") or {})
    body = response.get("body")
    content_type = next((value for name, value in headers.items() if name.lower() == "content-type"), None)
    if isinstance(body, str) and content_type and "json" not in content_type.lower():
        answer = HttpResponse(body, status=response.get("status", 200), content_type=content_type)
    else:
        encoded = json.dumps(body, ensure_ascii=False, default=str)
        answer = HttpResponse(encoded, status=response.get("status", 200), content_type=content_type or JSON)
    for name, value in headers.items():
        if name.lower() != "content-type":
            answer[name] = value
    answer["X-Correlation-ID"] = execution.correlation_id
    return answer
