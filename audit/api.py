"""``GET /api/v1/audit/``: the organization's audit log, newest first (admins, ``audit:read``)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets

from accounts.tenancy import OrganizationScopedMixin
from audit.filters import filter_events
from audit.models import AuditEvent
from audit.serializers import AuditEventSerializer


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("actor", str, description="user name or user id"),
            OpenApiParameter("object_type", str, description="connector, flow, variable, token, membership, ..."),
            OpenApiParameter("object_id", str),
            OpenApiParameter("action", str, description="create, update, delete, deploy, replay, cancel, ..."),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="at or after"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="before"),
        ]
    )
)
class AuditEventViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.select_related("actor")
    serializer_class = AuditEventSerializer
    resource = "audit"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = super().get_queryset()
        return filter_events(queryset, self.request.query_params) if self.action == "list" else queryset
