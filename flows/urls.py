"""The home page, pages of this app and the webhook receiver (mounted at the site root by config/urls.py)."""

from __future__ import annotations

from django.urls import path

from flows import dashboard, webhook_receiver
from flows.pages import executions, flow_page, flows

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("flows/", flows.flow_list, name="flow_list"),
    path("flows/new/", flows.flow_new, name="flow_new"),
    path("flows/import/", flows.flow_import, name="flow_import"),
    path("flows/<slug:slug>/", flow_page.flow_detail, name="flow_detail"),
    path("flows/<slug:slug>/edit/", flows.flow_edit, name="flow_edit"),
    path("flows/<slug:slug>/delete/", flows.flow_delete, name="flow_delete"),
    path("flows/<slug:slug>/draft/", flows.flow_draft, name="flow_draft"),
    path("flows/<slug:slug>/publish/", flows.flow_publish, name="flow_publish"),
    path("flows/<slug:slug>/deploy/", flows.flow_deploy, name="flow_deploy"),
    path("flows/<slug:slug>/diff/", flows.flow_diff, name="flow_diff"),
    path("flows/<slug:slug>/export/", flows.flow_export, name="flow_export"),
    path("flows/<slug:slug>/run/", flows.flow_run, name="flow_run"),
    path("flows/<slug:slug>/webhooks/", flows.flow_webhook, name="flow_webhook"),
    path("flows/<slug:slug>/schedules/", flows.flow_schedule_add, name="flow_schedule_add"),
    path("flows/<slug:slug>/schedules/<int:pk>/", flows.flow_schedule_change, name="flow_schedule_change"),
    path("executions/", executions.execution_list, name="execution_list"),
    path("executions/<int:pk>/", executions.execution_detail, name="execution_detail"),
    path("executions/<int:pk>/replay/", executions.execution_replay, name="execution_replay"),
    path("executions/<int:pk>/cancel/", executions.execution_cancel, name="execution_cancel"),
    path("monitoring/", executions.monitoring_page, name="monitoring"),
    path("hooks/<str:token>", webhook_receiver.webhook, name="webhook"),
]
