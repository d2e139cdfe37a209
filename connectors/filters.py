"""The filters of the connector list, shared by the API (which documents them from here) and the list page.

Tags are a JSON list, matched in the database: PostgreSQL's JSON containment where erpflow runs on
it, SQLite's ``json_each`` under ``make run``, where Django has no JSON ``contains``.
"""

from __future__ import annotations

import django_filters
from django.db import connections
from django.db.models import BooleanField, Q
from django.db.models.expressions import RawSQL

from accounts import environments
from connectors.models import Connector


def has_tag(tag: str, vendor: str):
    """The condition "the connector's tags hold ``tag``" on a database of ``vendor``; ``tag`` is a bound parameter."""
    if vendor != "sqlite":
        return Q(tags__contains=[tag])
    tags = f'"{Connector._meta.db_table}"."tags"'
    holds = f"EXISTS (SELECT 1 FROM json_each({tags}) WHERE json_each.value = %s)"  # noqa: S608 - our own column
    return RawSQL(holds, [tag], output_field=BooleanField())  # noqa: S611 - the tag is a bound parameter


class ConnectorFilter(django_filters.FilterSet):
    """``request.organization`` names the environments that ``environment`` may mean."""

    type = django_filters.CharFilter(field_name="type_key", strip=False, help_text="Type key, e.g. postgres")
    tag = django_filters.CharFilter(method="filter_tag", strip=False, help_text="One of the connector's tags")
    environment = django_filters.CharFilter(
        method="filter_environment", strip=False, help_text="Environment slug, name or id"
    )
    q = django_filters.CharFilter(method="filter_text", strip=False, help_text="Text in the name or description")

    def filter_tag(self, queryset, name, tag: str):
        return queryset.filter(has_tag(tag, connections[queryset.db].vendor))

    def filter_environment(self, queryset, name, key: str):
        environment = environments.find(self.request.organization, key, by_name_or_id=True)
        return queryset.filter(settings__environment=environment) if environment else queryset.none()

    def filter_text(self, queryset, name, text: str):
        return queryset.filter(Q(name__icontains=text) | Q(description__icontains=text))
