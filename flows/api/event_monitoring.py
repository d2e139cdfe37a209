"""``POST /api/v1/monitoring/events``: the events of a time range with how their executions went.

A body rather than a query string, as the ERP side's monitoring API has it; the same scope and
roles as the other monitoring calls. A use case of another organization is unknown, as in
``POST /api/v1/events``.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import Action
from core.serializers import ErrorSerializer
from flows import monitoring
from flows.api.errors import FlowsAPI, invalid, validated
from flows.models import Execution, Flow
from flows.monitoring_serializers import EventListSerializer, EventQuerySerializer


def event_scope(request, query: dict):
    """The organization's executions narrowed by the body's use case and environment."""
    executions = Execution.objects.for_organization(request.organization)
    if query.get("use_case"):
        flow = Flow.objects.filter(organization=request.organization, use_case_slug=query["use_case"]).first()
        if flow is None:
            raise invalid("use_case", f"Unknown use case '{query['use_case']}'.")
        executions = executions.filter(flow=flow)
    if query.get("environment"):
        executions = executions.filter(environment__slug=query["environment"])
    return executions.filter(created__gte=query["since"], created__lt=query["until"])


class MonitoringEventsView(FlowsAPI, APIView):
    resource = "monitoring"
    policy_action = Action.READ

    @extend_schema(
        operation_id="v1_monitoring_events",
        request=EventQuerySerializer,
        responses={200: EventListSerializer, 400: ErrorSerializer},
        description="Events accepted in [from, to), newest first, at most limit (1 to 1000, default 100).",
    )
    def post(self, request):
        query = validated(EventQuerySerializer, request.data)
        executions = event_scope(request, query)
        if query.get("status"):
            executions = executions.filter(status__in=query["status"])
        if query.get("correlation_id"):
            executions = executions.filter(correlation_id=query["correlation_id"])
        listed = monitoring.events(executions, query["limit"])
        return Response({"since": query["since"], "until": query["until"], "events": listed})
