from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView
from rest_framework.routers import SimpleRouter

from accounts import api as accounts_api
from accounts import errors
from config import views

router = SimpleRouter(trailing_slash="/?")
router.register("environments", accounts_api.EnvironmentViewSet, basename="environment")
router.register("variables", accounts_api.VariableViewSet, basename="variable")
router.register("tokens", accounts_api.ApiTokenViewSet, basename="token")
router.register("members", accounts_api.MemberViewSet, basename="member")

# Unknown paths under /api/ answer JSON like the rest of the API; pages keep Django's HTML 404. The
# catch-all at the end of the API's routes makes that true with DEBUG on too (``make run``), where
# Django shows its debug page instead of calling handler404.
handler404 = "accounts.errors.not_found"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("connectors.urls")),
    path("", include("flows.urls")),
    path("", include("audit.urls")),
    path("api/v1/", include(router.urls)),
    path("api/v1/", include("connectors.api_urls")),
    path("api/v1/", include("flows.api_urls")),
    path("api/v1/", include("managed.api_urls")),
    path("api/v1/", include("audit.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^api/", errors.not_found, name="api-not-found"),
    path("admin/", admin.site.urls),
]
