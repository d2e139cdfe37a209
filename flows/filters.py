"""The filters of executions, one definition for the executions API, its bulk replay, the monitoring
figures and the executions page.

``flow``, ``use_case`` and ``environment`` are slugs (``use_case`` keeps the executions events
started for that use case, replays of them included), ``status`` and ``trigger`` one value or several separated by
commas, ``since`` and ``until`` ISO 8601 bounds on the creation time (``until`` is exclusive);
values are trimmed and an empty one filters nothing. A bad value is refused naming the filter and
why, in the words of ``flows.monitoring`` (which reads the time range of the figures the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from flows import monitoring
from flows.models import Execution


def _refusal(message: str) -> ValidationError:
    """A form error holding ``message`` as given: django-filter formats every message with its params
    (``message % params``), which a '%' in a quoted value would break into a 500 without them."""
    return ValidationError("%(message)s", params={"message": message})


class ChoicesField(forms.CharField):
    """One value or several separated by commas, each one of ``allowed``; ``noun`` names them in errors."""

    def __init__(self, *, noun: str, allowed: list[str], **kwargs):
        super().__init__(**kwargs)
        self.noun = noun
        self.allowed = allowed

    def to_python(self, value) -> list[str] | None:
        text = super().to_python(value)
        if not text:
            return None
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        unknown = [part for part in chosen if part not in self.allowed]
        if unknown:
            raise _refusal(f"Unknown {self.noun} '{unknown[0]}'; use one of: {', '.join(self.allowed)}.")
        return chosen


class MomentField(forms.CharField):
    """An ISO 8601 date or date-time, read by ``flows.monitoring.parse_moment`` (a date is its midnight)."""

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return None
        try:
            return monitoring.parse_moment(text, "moment")
        except ValidationError as exc:  # keyed by the name given; the form files it under the filter's own
            raise _refusal(exc.messages[0]) from None


class ChoicesFilter(django_filters.CharFilter):
    """Rows whose field is any of the chosen values. A value of commas only chooses none, so matches nothing."""

    field_class = ChoicesField

    def filter(self, qs: QuerySet, value: list[str] | None) -> QuerySet:
        return qs if value is None else qs.filter(**{f"{self.field_name}__in": value})


class MomentFilter(django_filters.DateTimeFilter):
    field_class = MomentField


class TimeRangeForm(forms.Form):
    """Refuses a range that ends before it starts, once both bounds are read."""

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "until must be later than since.")
        return cleaned


class UseCaseFilter(django_filters.CharFilter):
    def filter(self, qs: QuerySet, value: str | None) -> QuerySet:
        return qs.filter(monitoring.EVENTS, flow__use_case_slug=value) if value else qs


class ExecutionFilter(django_filters.FilterSet):
    flow = django_filters.CharFilter(field_name="flow__slug", help_text="flow slug")
    use_case = UseCaseFilter(help_text="use case slug: the executions its events started")
    status = ChoicesFilter(
        noun="status", allowed=Execution.Status.values, help_text="one status or several, comma-separated"
    )
    environment = django_filters.CharFilter(field_name="environment__slug", help_text="environment slug")
    trigger = ChoicesFilter(
        noun="trigger",
        allowed=Execution.Trigger.values,
        help_text=f"one trigger or several, comma-separated: {', '.join(Execution.Trigger.values)}",
    )
    correlation_id = django_filters.CharFilter()
    since = MomentFilter(field_name="created", lookup_expr="gte", help_text="created at or after")
    until = MomentFilter(field_name="created", lookup_expr="lt", help_text="created before")

    class Meta:
        form = TimeRangeForm


def filter_executions(queryset: QuerySet, params: Mapping[str, Any]) -> QuerySet:
    """``queryset`` narrowed by the filters present in ``params``; a ``ValidationError`` names each bad one."""
    filterset = ExecutionFilter(params, queryset=queryset)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors.as_data())
    return filterset.qs
