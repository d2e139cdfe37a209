"""Mounted last under /api/ by config/urls.py: any path no API route took answers a JSON 404.

``handler404`` (``core.errors.not_found``) does the same with DEBUG off; with DEBUG on (``make
run``) Django shows its debug page instead of calling it, so the API's own catch-all makes the
answer the same in both.
"""

from __future__ import annotations

from django.urls import re_path

from core import errors

urlpatterns = [re_path(r"", errors.not_found, name="api-not-found")]
