"""``POST /hooks/<token>``: the webhook receiver, an HTTP endpoint outside the API.

Kept apart from ``flows.webhooks`` (the tokens: creating, rotating, finding them), which the
serializers import: the receiver answers with serialized executions (``flows.outcomes``), so in
one module the two would import each other.
"""

from __future__ import annotations

import logging

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core import ratelimit
from flows import eager, payloads, triggers, webhooks
from flows.models import Execution
from flows.outcomes import execution_outcome, responded

logger = logging.getLogger("erpflow.webhooks")


def _answer(data: dict, status: int, *, webhook_id: int | None = None, headers: dict | None = None) -> JsonResponse:
    """A webhook's JSON answer. Django logs every 4xx with the request path, which here holds the
    token, so the answer is marked as logged and a line naming the webhook's id is logged instead."""
    response = JsonResponse(data, status=status, headers=headers)
    if status >= 400:
        response._has_been_logged = True
        logger.warning("webhook %s answered %s: %s", webhook_id or "(unknown token)", status, data.get("detail"))
    return response


@csrf_exempt
def webhook(request, token):
    """``POST /hooks/<token>``: the body (JSON, XML or a form) is the payload of the deployed version.

    The token is the credential, so an unknown one answers 404 like any missing page. ``wait``,
    ``correlation_id`` and ``deduplication_id`` may come in the query string, the last two also as
    ``X-Correlation-ID`` and ``Idempotency-Key`` headers.
    """
    hook = webhooks.find(token)
    if hook is None:
        return _answer({"detail": "Not found."}, 404)
    if request.method != "POST":
        return _answer(
            {"detail": "Send a POST request to trigger the flow."}, 405, webhook_id=hook.pk, headers={"Allow": "POST"}
        )
    verdict = ratelimit.take(ratelimit.limits_for(hook.flow.organization_id, None))
    if verdict is not None and not verdict.allowed:
        retry = {"Retry-After": str(verdict.retry_after)}
        return _answer({"detail": ratelimit.refusal(verdict)}, 429, webhook_id=hook.pk, headers=retry)
    try:
        body = payloads.read_body(request)
        parsed = payloads.parse_request(body, request, envelope=False, accept_form=True)
        started = eager.start(hook.flow, hook.environment, parsed, trigger=Execution.Trigger.WEBHOOK)
    except triggers.TriggerError as exc:
        return _answer(exc.as_dict(), exc.status, webhook_id=hook.pk)
    execution, created = started.execution, started.created
    data, code, headers = execution_outcome(
        request,
        execution,
        wait=parsed.wait,
        created=created,
        fail_status=parsed.fail_status,
        waited=started.waited,
        steps=started.steps,
    )
    answer = responded(execution) if parsed.wait or not created else None
    return answer or _answer(data, code, webhook_id=hook.pk, headers=headers)
