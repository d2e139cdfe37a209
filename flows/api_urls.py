"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from flows import api

router = SimpleRouter(trailing_slash="/?")
router.register("flows", api.FlowViewSet, basename="flow")
router.register("executions", api.ExecutionViewSet, basename="execution")
router.register("webhooks", api.WebhookViewSet, basename="webhook")
router.register("schedules", api.ScheduleViewSet, basename="schedule")

urlpatterns = [
    re_path(r"^flows/(?P<slug>[-\w]+)/executions/?$", api.FlowTriggerView.as_view(), name="flow-trigger"),
    re_path(r"^monitoring/stats/?$", api.MonitoringStatsView.as_view(), name="monitoring-stats"),
    re_path(r"^monitoring/timeline/?$", api.MonitoringTimelineView.as_view(), name="monitoring-timeline"),
    re_path(r"^monitoring/steps/?$", api.MonitoringStepsView.as_view(), name="monitoring-steps"),
    re_path(r"^instructions/check/?$", api.InstructionCheckView.as_view(), name="instruction-check"),
    *router.urls,
]
