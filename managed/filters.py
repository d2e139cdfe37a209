"""The managed calls list's filters: ``connector`` (id), ``environment``, ``enabled`` and ``q`` (name or slug).

A value a filter cannot read is a 400 naming the parameter rather than a filter silently left off, which
would answer every call as if it matched.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from accounts import environments
from managed.models import ManagedCall


class TrueOrFalseField(forms.NullBooleanField):
    """``true`` or ``false`` (also ``True``/``False``, ``1``/``0``); Django's own field reads any other
    text as "unknown", which would drop the filter, so that is an error here."""

    widget = forms.TextInput

    def to_python(self, value):
        answer = super().to_python(value)
        if answer is None and value not in self.empty_values:
            raise ValidationError("'%(value)s' is neither true nor false.", code="invalid", params={"value": value})
        return answer


class TrueOrFalseFilter(django_filters.BooleanFilter):
    field_class = TrueOrFalseField


class IdFilter(django_filters.NumberFilter):
    """A whole number: the number filter's decimal field would take ``1.5`` for id 1."""

    field_class = forms.IntegerField


class ManagedCallFilter(django_filters.FilterSet):
    connector = IdFilter(
        field_name="connector__id",
        help_text="id of the connector the calls go through",
        error_messages={"invalid": "Give the connector's id as a number."},
    )
    environment = django_filters.CharFilter(method="in_environment", help_text="slug, name or id of the environment")
    enabled = TrueOrFalseFilter(help_text="true or false")
    q = django_filters.CharFilter(method="search", help_text="part of the name or slug, in any case")

    class Meta:
        model = ManagedCall
        fields = ["connector", "environment", "enabled", "q"]

    def in_environment(self, queryset, name, value: str):
        """Named as a managed call's environment is named everywhere else; one that does not exist has no calls."""
        environment = environments.find(self.request.organization, value, by_name_or_id=True)
        return queryset.filter(environment=environment) if environment else queryset.none()

    def search(self, queryset, name, value: str):
        return queryset.filter(Q(name__icontains=value) | Q(slug__icontains=value))
