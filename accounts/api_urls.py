"""API routes of this app (mounted under /api/v1/ by config/urls.py)."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from accounts import api

router = SimpleRouter(trailing_slash="/?")
router.register("environments", api.EnvironmentViewSet, basename="environment")
router.register("variables", api.VariableViewSet, basename="variable")
router.register("tokens", api.ApiTokenViewSet, basename="token")
router.register("members", api.MemberViewSet, basename="member")

urlpatterns = router.urls
