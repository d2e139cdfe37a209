"""Starting a flow through the API: ``POST /api/v1/flows/{slug}/executions`` and what any trigger answers."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.parsers import BaseParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import Action
from core.serializers import ErrorSerializer
from flows import eager, lookups, payloads
from flows.api.errors import FlowsAPI
from flows.execution_serializers import ExecutionResultSerializer, ExecutionSerializer
from flows.models import Execution, StepRun
from flows.outcomes import execution_outcome, responded
from flows.trigger_serializers import TriggerSerializer


def execution_response(
    request,
    execution: Execution,
    *,
    wait: int,
    created: bool,
    fail_status: int | None = None,
    waited: bool = False,
    steps: list[StepRun] | None = None,
) -> Response | HttpResponse:
    data, code, headers = execution_outcome(
        request, execution, wait=wait, created=created, fail_status=fail_status, waited=waited, steps=steps
    )
    if wait or not created:
        answer = responded(execution)
        if answer is not None:
            return answer
    return Response(data, status=code, headers=headers)


class RawBodyParser(BaseParser):
    """Hands the trigger its raw body (any media type), read up to ``ERPFLOW_MAX_PAYLOAD_BYTES`` (413 above).

    ``flows.payloads`` judges the content type and parses JSON or XML itself, with its own messages.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return payloads.read_limited(stream, payloads.content_length(parser_context["request"].META))


class FlowTriggerView(FlowsAPI, APIView):
    """``POST /api/v1/flows/{slug}/executions``: start the version deployed to an environment."""

    resource = "flows"
    policy_action = Action.RUN
    parser_classes = [RawBodyParser]
    renderer_classes = [JSONRenderer]  # a machine's endpoint: no browsable page to negotiate on every call

    @extend_schema(
        operation_id="v1_flows_executions_create",
        request={"application/json": TriggerSerializer, "application/xml": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("environment", str, description="instead of the body's field (XML bodies)"),
            OpenApiParameter("wait", int, description="instead of the body's field (XML bodies)"),
            OpenApiParameter("X-Correlation-ID", str, OpenApiParameter.HEADER),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
        ],
        responses={
            200: OpenApiResponse(ExecutionResultSerializer, description="finished, or the first of a duplicate"),
            202: OpenApiResponse(ExecutionSerializer, description="queued or still running; poll its url"),
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="flow disabled, or nothing deployed there"),
            413: ErrorSerializer,
            415: ErrorSerializer,
        },
        description=(
            "A JSON body holds environment, payload, correlation_id, deduplication_id and wait; an XML body is "
            "the payload itself (parsed to an object) with the rest in the query string and headers."
        ),
    )
    def post(self, request, slug):
        flow = lookups.flow(request.organization.pk, slug)
        if flow is None:
            return Response({"detail": f"No flow with slug '{slug}'."}, status=status.HTTP_404_NOT_FOUND)
        body = request.data if isinstance(request.data, bytes) else b""
        parsed = payloads.parse_request(body, request._request, envelope=True)
        started = eager.start(flow, parsed.environment, parsed, trigger=Execution.Trigger.API, user=request.user)
        return execution_response(
            request,
            started.execution,
            wait=parsed.wait,
            created=started.created,
            fail_status=parsed.fail_status,
            waited=started.waited,
            steps=started.steps,
        )
