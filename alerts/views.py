"""The alerts page: rules (list, create, change, delete) and the recent alerts sent."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts.policy import Action, allows, require
from accounts.tenancy import get_scoped_or_404, scoped
from accounts.views import member_required
from alerts.filters import AlertDeliveryFilter
from alerts.forms import AlertRuleForm
from alerts.models import AlertDelivery, AlertRule

RECENT = 50


@member_required
def alert_list(request, issued: tuple[AlertRule, str] | None = None):
    require(request, "alerts", Action.READ)
    rules = scoped(AlertRule.objects.select_related("flow"), request)
    filterset = AlertDeliveryFilter(request.GET, scoped(AlertDelivery.objects.select_related("rule"), request))
    error = None
    if filterset.is_valid():
        deliveries = filterset.qs[:RECENT]
    else:
        error = "; ".join(f"{name}: {' '.join(found)}" for name, found in filterset.errors.items())
        deliveries = []
    context = {
        "rules": rules,
        "deliveries": deliveries,
        "error": error,
        "can_edit": allows(request.membership, "alerts", Action.WRITE),
        "issued": issued,
        "rule_filter": request.GET.get("rule", ""),
    }
    return render(request, "alerts/list.html", context, status=400 if error else 200)


@member_required
def alert_rule_new(request):
    require(request, "alerts", Action.WRITE)
    return _edit(request, AlertRule(organization=request.organization))


@member_required
def alert_rule_edit(request, pk):
    require(request, "alerts", Action.WRITE)
    return _edit(request, get_scoped_or_404(AlertRule, request, pk=pk))


@require_POST
@member_required
def alert_rule_delete(request, pk):
    require(request, "alerts", Action.WRITE)
    rule = get_scoped_or_404(AlertRule, request, pk=pk)
    rule.delete()
    messages.success(request, f"Deleted the alert rule {rule.name} and its alerts.")
    return redirect("alert_list")


def _edit(request, rule: AlertRule):
    creating = rule.pk is None
    form = AlertRuleForm(request.POST or None, instance=rule, organization=request.organization)
    if request.method == "POST" and form.is_valid():
        rule = form.save()
        messages.success(request, f"{'Created' if creating else 'Saved'} the alert rule {rule.name}.")
        if rule.issued_secret:
            # Shown on this answer only: a redirect would have to carry the key somewhere.
            return alert_list(request, issued=(rule, rule.issued_secret))
        return redirect("alert_list")
    return render(request, "alerts/form.html", {"form": form, "rule": None if creating else rule})
