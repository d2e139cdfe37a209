"""``/api/v1/alert-rules/`` (rules, CRUD) and ``/api/v1/alerts/`` (recent deliveries, read-only)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.tenancy import OrganizationScopedMixin
from alerts.filters import AlertDeliveryFilter
from alerts.models import AlertDelivery, AlertRule
from alerts.serializers import AlertDeliverySerializer, AlertRuleSerializer


class AlertRuleViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    """Viewers read the rules; editors and above write them. The webhook's signing key is in the answer
    that made it (create, a change adding a webhook, ``rotate-secret``) and never again."""

    queryset = AlertRule.objects.select_related("flow")
    serializer_class = AlertRuleSerializer
    resource = "alerts"
    lookup_value_regex = r"\d+"

    @extend_schema(request=None, responses={200: AlertRuleSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        """A new signing key for the webhook; the old one stops being used at once."""
        rule = self.get_object()
        if not rule.webhook_url:
            return Response({"detail": "This rule has no webhook, so it has no signing key."}, status=409)
        rule.issued_secret = rule.new_secret()
        rule.save(update_fields=["webhook_secret", "updated"])
        return Response(self.get_serializer(rule).data)


class AlertDeliveryViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = AlertDelivery.objects.all()
    serializer_class = AlertDeliverySerializer
    resource = "alerts"
    lookup_value_regex = r"\d+"
    filter_backends = [DjangoFilterBackend]
    filterset_class = AlertDeliveryFilter

    def filter_queryset(self, queryset):
        """The filters narrow the list; one delivery is found by its id alone."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset
