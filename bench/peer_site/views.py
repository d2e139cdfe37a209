"""The one view of the peer site: erpflow's one-step mapping flow, written by hand."""

import json

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def execute(request: HttpRequest, slug: str) -> JsonResponse:
    """Parse the trigger's body and answer its payload with ``"seen": true`` added, as erpflow's flow does.

    Compact separators, as DRF renders erpflow's answer, so one expected text judges both."""
    try:
        body = json.loads(request.body)
        payload = {**body["payload"], "seen": True}
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"detail": "expected a JSON object with a payload object"}, status=400)
    return JsonResponse(payload, json_dumps_params={"separators": (",", ":")})
