"""The home page, pages of this app and the webhook receiver (mounted at the site root by config/urls.py)."""

from __future__ import annotations

from django.urls import path

from flows import dashboard, views

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("flows/", views.flow_list, name="flow_list"),
    path("flows/new/", views.flow_new, name="flow_new"),
    path("flows/import/", views.flow_import, name="flow_import"),
    path("flows/<slug:slug>/", views.flow_detail, name="flow_detail"),
    path("flows/<slug:slug>/edit/", views.flow_edit, name="flow_edit"),
    path("flows/<slug:slug>/delete/", views.flow_delete, name="flow_delete"),
    path("flows/<slug:slug>/draft/", views.flow_draft, name="flow_draft"),
    path("flows/<slug:slug>/publish/", views.flow_publish, name="flow_publish"),
    path("flows/<slug:slug>/deploy/", views.flow_deploy, name="flow_deploy"),
    path("flows/<slug:slug>/diff/", views.flow_diff, name="flow_diff"),
    path("flows/<slug:slug>/export/", views.flow_export, name="flow_export"),
    path("flows/<slug:slug>/run/", views.flow_run, name="flow_run"),
    path("flows/<slug:slug>/webhooks/", views.flow_webhook, name="flow_webhook"),
    path("flows/<slug:slug>/schedules/", views.flow_schedule_add, name="flow_schedule_add"),
    path("flows/<slug:slug>/schedules/<int:pk>/", views.flow_schedule_change, name="flow_schedule_change"),
    path("executions/", views.execution_list, name="execution_list"),
    path("executions/<int:pk>/", views.execution_detail, name="execution_detail"),
    path("executions/<int:pk>/replay/", views.execution_replay, name="execution_replay"),
    path("executions/<int:pk>/cancel/", views.execution_cancel, name="execution_cancel"),
    path("monitoring/", views.monitoring_page, name="monitoring"),
    path("hooks/<str:token>", views.webhook, name="webhook"),
]
