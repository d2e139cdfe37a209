"""API routes of this app (mounted under /api/v1/ by config/urls.py).

``execute`` answers with or without a trailing slash, as the issue's address has none.
"""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from managed import api

router = SimpleRouter(trailing_slash="/?")
router.register("managed-calls", api.ManagedCallViewSet, basename="managed-call")

urlpatterns = [
    re_path(
        r"^managed-calls/(?P<slug>[a-z0-9][a-z0-9_-]*)/execute/?$",
        api.ManagedCallViewSet.as_view({"post": "execute"}),
        name="managed-call-execute",
    ),
    *router.urls,
]
