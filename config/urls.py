"""The site's routes: every app's pages at the root, its API under /api/v1/.

Apps are included by name, so this module imports none of them: config stays the bottom layer.
"""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

# Unknown paths under /api/ answer JSON like the rest of the API; pages keep Django's HTML 404.
handler404 = "core.errors.not_found"

# The API comes first, the flows' API (triggers, events) first of all: Django tries the patterns in
# order, and a waited trigger spent a tenth of its web time failing to match the pages' patterns.
# No page lives under api/v1/, so the order changes which pattern is tried first, not which matches.
api = [
    path("", include("flows.api_urls")),
    path("", include("accounts.api_urls")),
    path("", include("connectors.api_urls")),
    path("", include("managed.api_urls")),
    path("", include("audit.api_urls")),
    path("", include("alerts.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularRedocView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("core.fallback_urls")),
    path("", include("core.urls")),
    path("", include("accounts.urls")),
    path("", include("connectors.urls")),
    path("", include("flows.urls")),
    path("", include("audit.urls")),
    path("", include("alerts.urls")),
    path("admin/", admin.site.urls),
]
