"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from connectors import api

router = SimpleRouter(trailing_slash="/?")
router.register("connector-types", api.ConnectorTypeViewSet, basename="connector-type")
router.register("connectors", api.ConnectorViewSet, basename="connector")

urlpatterns = router.urls
