"""Filters of the recent alerts, for the API and the page: by rule, channel and outcome."""

from __future__ import annotations

import django_filters

from alerts.models import AlertDelivery


class AlertDeliveryFilter(django_filters.FilterSet):
    rule = django_filters.NumberFilter(field_name="rule_id", help_text="the id of an alert rule")

    class Meta:
        model = AlertDelivery
        fields = ["rule", "channel", "outcome"]
