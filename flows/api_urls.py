"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from flows.api.event_monitoring import MonitoringEventsView
from flows.api.events import EventReplayView, EventsView
from flows.api.executions import ExecutionViewSet
from flows.api.flow_parts import ScheduleViewSet, WebhookViewSet
from flows.api.flows import FlowViewSet
from flows.api.instructions import InstructionCheckView, InstructionFormatView
from flows.api.monitoring import MonitoringStatsView, MonitoringStepsView, MonitoringTimelineView
from flows.api.triggers import FlowTriggerView

router = SimpleRouter(trailing_slash="/?")
router.register("flows", FlowViewSet, basename="flow")
router.register("executions", ExecutionViewSet, basename="execution")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("schedules", ScheduleViewSet, basename="schedule")

urlpatterns = [
    re_path(r"^flows/(?P<slug>[-\w]+)/executions/?$", FlowTriggerView.as_view(), name="flow-trigger"),
    re_path(r"^events/?$", EventsView.as_view(), name="events"),
    re_path(r"^events/replay/?$", EventReplayView.as_view(), name="events-replay"),
    re_path(r"^monitoring/events/?$", MonitoringEventsView.as_view(), name="monitoring-events"),
    re_path(r"^monitoring/stats/?$", MonitoringStatsView.as_view(), name="monitoring-stats"),
    re_path(r"^monitoring/timeline/?$", MonitoringTimelineView.as_view(), name="monitoring-timeline"),
    re_path(r"^monitoring/steps/?$", MonitoringStepsView.as_view(), name="monitoring-steps"),
    re_path(r"^instructions/check/?$", InstructionCheckView.as_view(), name="instruction-check"),
    re_path(r"^instructions/format/?$", InstructionFormatView.as_view(), name="instruction-format"),
    *router.urls,
]
