from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

from accounts.policy import Action, require
from accounts.tenancy import scoped
from accounts.views import member_required
from audit.filters import FILTERS, filter_events
from audit.models import AuditEvent

PAGE_SIZE = 50


@member_required
def audit_log(request):
    """The log with the API's filters; admins and owners only, like the API."""
    require(request, "audit", Action.READ)
    events = scoped(AuditEvent.objects.select_related("actor"), request)
    error = None
    try:
        events = filter_events(events, request.GET)
    except ValidationError as problem:
        error = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in problem.detail.items())
        events = events.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {name: request.GET.get(name, "") for name in FILTERS}
    return render(
        request,
        "audit/list.html",
        {"page": page, "filters": filters, "error": error, "actions": AuditEvent.Action.choices},
        status=400 if error else 200,
    )
