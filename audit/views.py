from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render

from accounts.policy import Action, require
from accounts.tenancy import scoped
from accounts.views import member_required
from audit.filters import AuditEventFilter
from audit.models import AuditEvent

PAGE_SIZE = 50


@member_required
def audit_log(request):
    """The log with the API's filters; admins and owners only, like the API."""
    require(request, "audit", Action.READ)
    filterset = AuditEventFilter(request.GET, scoped(AuditEvent.objects.select_related("actor"), request))
    error = None
    if filterset.is_valid():
        events = filterset.qs
    else:
        error = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())
        events = filterset.queryset.none()
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {name: request.GET.get(name, "") for name in AuditEventFilter.base_filters}
    return render(
        request,
        "audit/list.html",
        {"page": page, "filters": filters, "error": error, "actions": AuditEvent.Action.choices},
        status=400 if error else 200,
    )
