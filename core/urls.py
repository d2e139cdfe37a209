"""The health check, at the site root (mounted by config/urls.py)."""

from __future__ import annotations

from django.urls import path

from core import health

urlpatterns = [path("healthz", health.healthz, name="healthz")]
