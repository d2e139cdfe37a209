"""The home page: what the organization has and what ran in the last day."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count
from django.shortcuts import render
from django.utils import timezone

from accounts.models import ApiToken, Environment
from accounts.tenancy import scoped
from accounts.views import member_required
from connectors.models import Connector
from flows.models import Execution, Flow


@member_required
def dashboard(request):
    since = timezone.now() - timedelta(hours=24)
    recent = scoped(Execution, request).filter(created__gte=since)
    context = {
        "environments": scoped(Environment, request),
        "token_count": scoped(ApiToken, request).usable().filter(user=request.user).count(),
        "connector_count": scoped(Connector, request).count(),
        "flow_count": scoped(Flow, request).count(),
        "executions_by_status": [
            (status, Execution.Status(status).label, n)
            for status, n in recent.values_list("status").annotate(n=Count("id")).order_by("status")
        ],
        "latest_executions": scoped(Execution, request).select_related("flow", "environment")[:8],
    }
    return render(request, "dashboard.html", context)
