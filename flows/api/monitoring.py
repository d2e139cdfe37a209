"""Figures over a time range: executions per flow by status and duration, over time, and by step.

``POST /api/v1/monitoring/stats`` takes the range in a body (``from``, ``to``, ``use_case``,
``environment``), as the events' monitoring call does, and adds the figures per use case.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import Action
from core.serializers import ErrorSerializer
from flows import monitoring
from flows.api.errors import FlowsAPI, validated
from flows.api.event_monitoring import event_scope
from flows.filters import filter_executions
from flows.models import Execution
from flows.monitoring_serializers import (
    EventStatsSerializer,
    MonitoringQuerySerializer,
    StatsSerializer,
    StepFiguresSerializer,
    TimelineSerializer,
)

MONITORING_RANGE = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="default: 24 hours before until"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="default: now"),
    OpenApiParameter("flow", str, description="flow slug"),
    OpenApiParameter("environment", str, description="environment slug"),
]


def monitored(request):
    """The time range and the organization's executions narrowed by ``flow`` and ``environment``."""
    params = request.query_params
    since, until = monitoring.time_range(params)
    executions = Execution.objects.for_organization(request.organization)
    executions = filter_executions(executions, {"flow": params.get("flow"), "environment": params.get("environment")})
    return since, until, executions


class MonitoringStatsView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/stats``: per flow, counts by status and p50/p95 durations over a time range;
    ``POST`` the same from a body, and per use case too."""

    resource = "monitoring"
    policy_action = Action.READ

    @extend_schema(parameters=MONITORING_RANGE, responses={200: StatsSerializer, 400: ErrorSerializer})
    def get(self, request):
        since, until, executions = monitored(request)
        return Response({"since": since, "until": until, "flows": monitoring.stats(executions, since, until)})

    @extend_schema(
        operation_id="v1_monitoring_stats_query",
        request=MonitoringQuerySerializer,
        responses={200: EventStatsSerializer, 400: ErrorSerializer},
    )
    def post(self, request):
        query = validated(MonitoringQuerySerializer, request.data)
        since, until, executions = query["since"], query["until"], event_scope(request, query)
        return Response(
            {
                "since": since,
                "until": until,
                "flows": monitoring.stats(executions, since, until),
                "use_cases": monitoring.use_case_stats(executions, since, until),
            }
        )


class MonitoringTimelineView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/timeline``: executions over time by status, in equal slices of the range."""

    resource = "monitoring"

    @extend_schema(parameters=MONITORING_RANGE, responses={200: TimelineSerializer, 400: ErrorSerializer})
    def get(self, request):
        since, until, executions = monitored(request)
        return Response({"since": since, "until": until, **monitoring.timeline(executions, since, until)})


class MonitoringStepsView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/steps``: the slowest steps (p95) and the steps that fail most often."""

    resource = "monitoring"

    @extend_schema(parameters=MONITORING_RANGE, responses={200: StepFiguresSerializer, 400: ErrorSerializer})
    def get(self, request):
        since, until, executions = monitored(request)
        return Response({"since": since, "until": until, **monitoring.step_figures(executions, since, until)})
