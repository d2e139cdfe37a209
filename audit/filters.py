"""The audit log's filters, shared by the API and the page: actor, object type and id, time range.

A value that cannot be a filter (a date that does not exist, text that is no date) raises a DRF
``ValidationError`` naming the parameter: a 400 on the API, a message above the table on the page.
"""

from __future__ import annotations

from datetime import datetime, time

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

FILTERS = ("actor", "object_type", "object_id", "action", "since", "until")
FORMAT = "an ISO 8601 date or date and time, e.g. 2025-01-31 or 2025-01-31T08:00:00Z"


def _moment(name: str, raw: str) -> datetime:
    """``raw`` as an aware datetime (a date alone is its midnight, a time without offset is local)."""
    try:
        moment = parse_datetime(raw)
        if moment is None and (day := parse_date(raw)) is not None:
            moment = datetime.combine(day, time.min)
    except ValueError as exc:  # shaped like a date, but no such day or hour: 2025-02-30, 2025-13-45
        raise ValidationError({name: [f"'{raw}' is not a real date ({exc}); give {FORMAT}."]}) from None
    if moment is None:
        raise ValidationError({name: [f"'{raw}' is not {FORMAT}."]})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def filter_events(queryset, params):
    """``actor`` matches a user name or id; ``since`` is inclusive and ``until`` exclusive."""
    actor = params.get("actor")
    if actor:
        by_id = actor.isascii() and actor.isdigit()
        queryset = queryset.filter(actor_id=int(actor)) if by_id else queryset.filter(actor__username=actor)
    for name in ("object_type", "object_id", "action"):
        if params.get(name):
            queryset = queryset.filter(**{name: params[name]})
    if params.get("since"):
        queryset = queryset.filter(created__gte=_moment("since", params["since"]))
    if params.get("until"):
        queryset = queryset.filter(created__lt=_moment("until", params["until"]))
    return queryset
