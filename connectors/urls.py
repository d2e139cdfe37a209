"""Pages of this app (mounted at the site root by config/urls.py)."""

from __future__ import annotations

from django.urls import path

from connectors import views

urlpatterns = [
    path("connectors/", views.connector_list, name="connector_list"),
    path("connectors/new/", views.connector_new, name="connector_new"),
    path("connectors/new/<slug:type_key>/", views.connector_create, name="connector_create"),
    path("connectors/<int:pk>/", views.connector_detail, name="connector_detail"),
    path("connectors/<int:pk>/edit/", views.connector_edit, name="connector_edit"),
    path("connectors/<int:pk>/test/", views.connector_test, name="connector_test"),
    path("connectors/<int:pk>/delete/", views.connector_delete, name="connector_delete"),
]
