"""``GET /api/v1/audit/``: the organization's audit log, newest first (admins, ``audit:read``)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets

from accounts.tenancy import OrganizationScopedMixin
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.serializers import AuditEventSerializer


class AuditEventViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = AuditEvent.objects.select_related("actor")
    serializer_class = AuditEventSerializer
    resource = "audit"
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEventFilter

    def filter_queryset(self, queryset):
        """The filters narrow the list; one event is found by its id alone, whatever the query string holds."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset
