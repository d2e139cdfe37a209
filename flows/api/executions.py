"""Executions: the filtered list, one with every step run, replaying and cancelling."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import requires
from accounts.policy import Action
from accounts.tenancy import OrganizationScopedMixin
from core.serializers import ErrorSerializer
from flows import engine, triggers
from flows.api.errors import ERRORS, FlowsAPI, validated
from flows.execution_serializers import (
    BulkReplayResultSerializer,
    BulkReplaySerializer,
    ExecutionDetailSerializer,
    ExecutionSerializer,
)
from flows.filters import ExecutionFilter, filter_executions
from flows.models import Execution


class ExecutionViewSet(FlowsAPI, OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Executions, newest first, filtered by flow, status, environment, trigger, correlation id and time."""

    queryset = Execution.objects.select_related("flow", "version", "environment", "started_by")
    serializer_class = ExecutionSerializer
    resource = "executions"
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = ExecutionFilter

    def get_queryset(self):
        queryset = super().get_queryset()
        return queryset.prefetch_related("steps") if self.action == "retrieve" else queryset

    def filter_queryset(self, queryset):
        # The filters are the list's: one execution is found by its id whatever the query string holds.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    @extend_schema(request=None, responses={201: ExecutionSerializer, **ERRORS})
    @requires(Action.REPLAY)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        replayed = triggers.replay(self.get_object(), request.user)
        return Response(
            ExecutionSerializer(replayed, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={200: ExecutionSerializer, **ERRORS})
    @requires(Action.CANCEL)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = self.get_object()
        if not engine.request_cancel(execution):
            return Response(
                {"detail": f"Execution #{execution.pk} already ended ({execution.status}); nothing to cancel."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ExecutionSerializer(execution, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="v1_executions_replay_failed",
        request=BulkReplaySerializer,
        responses={200: BulkReplayResultSerializer, 400: ErrorSerializer},
        description="Replay failed executions matching the filters that were not replayed before, oldest first.",
    )
    @requires(Action.REPLAY)
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_failed(self, request):
        filters = validated(BulkReplaySerializer, request.data)
        queryset = filter_executions(self.get_queryset(), filters)
        if "ids" in filters:
            queryset = queryset.filter(pk__in=filters["ids"])
        replays = triggers.replay_failed(queryset, request.user, filters["limit"])
        data = ExecutionSerializer(replays, many=True, context=self.get_serializer_context()).data
        return Response({"replayed": len(replays), "executions": data})
