"""The audit log's filters, shared by the API and the page: actor, object type and id, time range."""

from __future__ import annotations

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

FILTERS = ("actor", "object_type", "object_id", "action", "since", "until")


def _moment(name: str, raw: str):
    moment = parse_datetime(raw)
    if moment is None:
        raise ValidationError({name: [f"'{raw}' is not an ISO 8601 date and time, e.g. 2025-01-31T08:00:00Z."]})
    return moment


def filter_events(queryset, params):
    """``actor`` matches a user name or id; ``since`` is inclusive and ``until`` exclusive."""
    actor = params.get("actor")
    if actor:
        queryset = queryset.filter(actor_id=int(actor)) if actor.isdigit() else queryset.filter(actor__username=actor)
    for name in ("object_type", "object_id", "action"):
        if params.get(name):
            queryset = queryset.filter(**{name: params[name]})
    if params.get("since"):
        queryset = queryset.filter(created__gte=_moment("since", params["since"]))
    if params.get("until"):
        queryset = queryset.filter(created__lt=_moment("until", params["until"]))
    return queryset
