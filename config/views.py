from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from accounts.models import ApiToken, Environment
from accounts.tenancy import scoped
from accounts.views import member_required
from config import health


def healthz(request):
    result = health.report()
    return JsonResponse(result, status=200 if result["ok"] else 503)


@member_required
def dashboard(request):
    context = {
        "environments": scoped(Environment, request),
        "token_count": scoped(ApiToken, request).usable().filter(user=request.user).count(),
    }
    return render(request, "dashboard.html", context)
