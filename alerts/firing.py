"""When alert rules fire: on a failed execution (every failure, or more than N within W minutes), and
on beat's look for flows that have not succeeded for T minutes.

A rule fires at most once per throttle window. The window is claimed in the database before
anything is sent (``last_fired`` moved by an UPDATE that only matches a rule whose window has
passed), so two workers handling two failures at the same instant send one alert, not two.
``now`` is a parameter throughout, so the tests drive the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Max, Q
from django.urls import reverse

from alerts import delivery
from alerts.choices import Condition
from alerts.models import AlertDelivery, AlertRule
from alerts.summary import execution_summary, link
from flows.models import Execution

ON_FAILURE = (Condition.EVERY_FAILURE, Condition.FAILURES_OVER)
# What counts as a success for "no success for T minutes": the flow ran to its end (Ignore Errors included).
SUCCESSES = (Execution.Status.SUCCEEDED, Execution.Status.COMPLETED_WITH_ERRORS)


def on_failure(execution: Execution, now: datetime) -> list[AlertDelivery]:
    """Fire the rules a failed execution concerns: its organization's, for its flow or for every flow."""
    if execution.status != Execution.Status.FAILED:
        return []
    rules = AlertRule.objects.filter(
        Q(flow__isnull=True) | Q(flow_id=execution.flow_id),
        organization_id=execution.organization_id,
        enabled=True,
        condition__in=ON_FAILURE,
    ).select_related("flow")
    sent: list[AlertDelivery] = []
    summary = None
    for rule in rules:
        summary = summary or execution_summary(execution)
        message = _failure_message(rule, summary, now)
        if message is not None:
            sent += fire(rule, message, now)
    return sent


def check_silent(now: datetime) -> list[AlertDelivery]:
    """Beat's look: fire each "no success for T minutes" rule whose flow (or organization) has been
    silent that long. A rule younger than T waits until it has watched for T minutes."""
    sent: list[AlertDelivery] = []
    rules = AlertRule.objects.filter(enabled=True, condition=Condition.NO_SUCCESS).select_related("flow")
    for rule in rules:
        horizon = now - timedelta(minutes=rule.silence_minutes)
        if rule.created > horizon:
            continue
        successes = _watched(rule).filter(status__in=SUCCESSES)
        last = successes.aggregate(last=Max("finished"))["last"]
        if last is not None and last > horizon:
            continue
        sent += fire(rule, _silence_message(rule, last), now)
    return sent


def fire(rule: AlertRule, message: dict, now: datetime) -> list[AlertDelivery]:
    """Send ``message`` to the rule's recipients unless the rule fired within its throttle window."""
    window_start = now - timedelta(minutes=rule.throttle_minutes)
    claimed = (
        AlertRule.objects.filter(pk=rule.pk, enabled=True)
        .filter(Q(last_fired__isnull=True) | Q(last_fired__lte=window_start))
        .update(last_fired=now)
    )
    if not claimed:
        return []
    rule.last_fired = now
    return delivery.deliver(rule, {**message, "fired": now.isoformat()})


def _watched(rule: AlertRule):
    executions = Execution.objects.filter(organization_id=rule.organization_id)
    return executions.filter(flow_id=rule.flow_id) if rule.flow_id else executions


def _rule(rule: AlertRule) -> dict:
    return {
        "id": rule.pk,
        "name": rule.name,
        "condition": rule.condition,
        "flow": rule.flow.slug if rule.flow_id else None,
        "throttle_minutes": rule.throttle_minutes,
    }


def _failure_message(rule: AlertRule, summary: dict, now: datetime) -> dict | None:
    where = f"{summary['flow']['name']} failed in {summary['environment']}"
    if rule.condition == Condition.EVERY_FAILURE:
        return {"headline": where, "rule": _rule(rule), "execution": summary}
    since = now - timedelta(minutes=rule.window_minutes)
    failures = _watched(rule).filter(status=Execution.Status.FAILED, finished__gt=since, finished__lte=now).count()
    if failures <= rule.failures:
        return None
    scope = f"flow {rule.flow.name}" if rule.flow_id else "this organization's flows"
    return {
        "headline": f"{failures} failures of {scope} in {rule.window_minutes} min (more than {rule.failures}); "
        f"latest: {where}",
        "rule": _rule(rule),
        "failures": failures,
        "window_minutes": rule.window_minutes,
        "execution": summary,
        "link": link(reverse("execution_list") + "?status=failed"),
    }


def _silence_message(rule: AlertRule, last: datetime | None) -> dict:
    scope = f"Flow {rule.flow.name}" if rule.flow_id else "No flow of this organization"
    verb = "has not succeeded" if rule.flow_id else "has succeeded"
    since = f"since {last.isoformat()}" if last else "since the rule was created"
    return {
        "headline": f"{scope} {verb} for {rule.silence_minutes} min ({since})",
        "rule": _rule(rule),
        "silence_minutes": rule.silence_minutes,
        "last_success": last.isoformat() if last else None,
        "execution": None,
        "link": link(reverse("execution_list")),
    }
