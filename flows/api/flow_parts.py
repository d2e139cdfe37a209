"""What belongs to a flow besides its graph: its webhooks and its schedules."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import requires
from accounts.policy import Action
from flows import schedules, versions, webhooks
from flows.api.errors import ERRORS, FlowsAPI
from flows.models import Flow, Schedule, Webhook
from flows.trigger_serializers import ScheduleSerializer, WebhookSerializer


class FlowPartMixin:
    """Rows that belong to a flow (webhooks, schedules): scoped through the flow's organization;
    changing them is changing the flow, so a protected flow needs an admin."""

    resource = "flows"

    def get_queryset(self):
        queryset = super().get_queryset().filter(flow__organization=self.request.organization)
        flow = self.request.query_params.get("flow")
        return queryset.filter(flow__slug=flow) if flow and self.action == "list" else queryset

    def check_flow(self, flow: Flow) -> None:
        versions.check_can_change(flow, self.request.user)


class WebhookViewSet(
    FlowsAPI,
    FlowPartMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One secret URL per flow and environment; ``rotate`` replaces it. Only editors see the URL."""

    queryset = Webhook.objects.select_related("flow", "environment").order_by("flow__name", "environment_id")
    serializer_class = WebhookSerializer

    @extend_schema(responses={201: WebhookSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flow, environment = serializer.validated_data["flow"], serializer.validated_data["environment"]
        self.check_flow(flow)
        webhook, _ = webhooks.create(flow, environment)
        return Response(self.get_serializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WebhookSerializer, **ERRORS})
    @requires(Action.ROTATE_WEBHOOK_SECRETS)
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        webhook = self.get_object()
        self.check_flow(webhook.flow)
        webhooks.rotate(webhook)
        return Response(self.get_serializer(webhook).data)

    def perform_destroy(self, instance):
        self.check_flow(instance.flow)
        instance.delete()


class ScheduleViewSet(FlowsAPI, FlowPartMixin, viewsets.ModelViewSet):
    """Cron schedules per flow and environment, each backed by a django-celery-beat PeriodicTask."""

    queryset = Schedule.objects.select_related("flow", "environment", "periodic_task__crontab").order_by(
        "flow__name", "pk"
    )
    serializer_class = ScheduleSerializer

    def perform_create(self, serializer):
        self.check_flow(serializer.validated_data["flow"])
        serializer.save()

    def perform_update(self, serializer):
        self.check_flow(serializer.instance.flow)
        serializer.save()

    def perform_destroy(self, instance):
        self.check_flow(instance.flow)
        schedules.delete(instance)
