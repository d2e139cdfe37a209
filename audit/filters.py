"""The audit log's filters, one FilterSet for the API list and the page: actor, object, action, time range.

A value that cannot be a filter (a date that does not exist, text that is no date) is an error of the
FilterSet naming the parameter: a 400 on the API, a message above the table on the page.
"""

from __future__ import annotations

from datetime import datetime, time

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from audit.models import AuditEvent

FORMAT = "an ISO 8601 date or date and time, e.g. 2025-01-31 or 2025-01-31T08:00:00Z"


class MomentField(forms.Field):
    """An aware datetime: a date alone is its midnight, a time without offset is local.

    The messages carry the typed value as a parameter, never formatted in: django-filter's DRF error
    applies ``%`` to every message, and a ``%`` in the value would otherwise turn the 400 into a 500.
    """

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            moment = parse_datetime(value)
            if moment is None and (day := parse_date(value)) is not None:
                moment = datetime.combine(day, time.min)
        except ValueError as exc:  # shaped like a date, but no such day or hour: 2025-02-30, 2025-13-45
            raise ValidationError(
                "'%(value)s' is not a real date (%(reason)s); give %(format)s.",
                code="invalid",
                params={"value": value, "reason": exc, "format": FORMAT},
            ) from None
        if moment is None:
            raise ValidationError(
                "'%(value)s' is not %(format)s.", code="invalid", params={"value": value, "format": FORMAT}
            )
        return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


class MomentFilter(django_filters.DateTimeFilter):
    field_class = MomentField


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(method="by_actor", help_text="user name or user id")
    object_type = django_filters.CharFilter(help_text="connector, flow, variable, token, membership, ...")
    object_id = django_filters.CharFilter()
    action = django_filters.CharFilter(help_text="create, update, delete, deploy, replay, cancel, ...")
    since = MomentFilter(field_name="created", lookup_expr="gte", help_text="at or after")
    until = MomentFilter(field_name="created", lookup_expr="lt", help_text="before")

    class Meta:
        model = AuditEvent
        fields = ["actor", "object_type", "object_id", "action", "since", "until"]

    def by_actor(self, queryset, name, value: str):
        """Digits are a user id, anything else a user name."""
        if value.isascii() and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset.filter(actor__username=value)
