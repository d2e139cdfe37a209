"""Sending one alert of a rule to each of its recipients, and recording each attempt.

Every address gets a message of its own (recipients do not see each other) and a record of its
own; a recipient that fails does not stop the others. Records and logs name the webhook without
its query, and never hold the signing key.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from alerts import webhook
from alerts.choices import Channel, Outcome
from alerts.models import AlertDelivery, AlertRule

logger = logging.getLogger("erpflow.alerts")


def deliver(rule: AlertRule, message: dict) -> list[AlertDelivery]:
    deliveries = [_email(rule, address, message) for address in rule.emails]
    if rule.webhook_url:
        deliveries.append(_webhook(rule, message))
    return deliveries


def _email(rule: AlertRule, address: str, message: dict) -> AlertDelivery:
    try:
        send_mail(
            subject=f"[erpflow] {message['headline']}",
            message=text(message),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except Exception as exc:  # any backend's failure (SMTP, connection) is this recipient's outcome
        logger.warning("alert rule %s: e-mail to %s failed: %s", rule.pk, address, type(exc).__name__)
        return _record(rule, Channel.EMAIL, address, message, f"{type(exc).__name__}: {exc}")
    return _record(rule, Channel.EMAIL, address, message)


def _webhook(rule: AlertRule, message: dict) -> AlertDelivery:
    recipient = webhook.shown(rule.webhook_url)
    try:
        webhook.post(rule.webhook_url, rule.signing_key(), message)
    except webhook.WebhookFailed as exc:
        logger.warning("alert rule %s: webhook %s failed: %s", rule.pk, recipient, exc)
        return _record(rule, Channel.WEBHOOK, recipient, message, str(exc))
    return _record(rule, Channel.WEBHOOK, recipient, message)


def _record(rule: AlertRule, channel: str, recipient: str, message: dict, error: str = "") -> AlertDelivery:
    return AlertDelivery.objects.create(
        organization_id=rule.organization_id,
        rule=rule,
        channel=channel,
        recipient=recipient[:500],
        outcome=Outcome.FAILED if error else Outcome.SENT,
        error=error[:2000],
        summary=message,
    )


def text(message: dict) -> str:
    """The e-mail body: the headline, then what the alert knows, one fact a line."""
    lines = [message["headline"], ""]
    execution = message.get("execution")
    if execution:
        step = execution["failing_step"]
        lines += [
            f"Flow: {execution['flow']['name']} ({execution['flow']['slug']}), version {execution['version']}",
            f"Environment: {execution['environment']}",
            f"Execution: #{execution['execution_id']} ({execution['link']})",
            f"Correlation id: {execution['correlation_id']}",
        ]
        if step:
            lines.append(f"Failing step: {step['name']}: {step['error']}")
        lines.append(f"Error: {execution['error']}")
    if message.get("link"):
        lines.append(f"More: {message['link']}")
    rule = message["rule"]
    lines += ["", f"Alert rule: {rule['name']} (sent at most once every {rule['throttle_minutes']} min)"]
    return "\n".join(lines)
