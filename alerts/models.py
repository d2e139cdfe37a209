from __future__ import annotations

import secrets

from django.db import models

from accounts.tenancy import OrganizationScoped
from alerts.choices import Channel, Condition, Outcome
from core import crypto

# Bounds of a rule's numbers, shared by the checks (alerts.checks), the form and the API schema.
MAX_FAILURES = 10_000
MAX_WINDOW_MINUTES = 7 * 24 * 60
MAX_SILENCE_MINUTES = 30 * 24 * 60
MAX_THROTTLE_MINUTES = 7 * 24 * 60
MAX_EMAILS = 20


class AlertRule(OrganizationScoped):
    """When to tell someone about a flow's (or every flow's) failures, and whom: e-mail addresses and
    a signed webhook. ``last_fired`` is the throttle: one alert per rule per ``throttle_minutes``."""

    name = models.CharField(max_length=120)
    flow = models.ForeignKey(
        "flows.Flow",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="the flow watched; empty: every flow of the organization",
    )
    condition = models.CharField(max_length=16, choices=Condition.choices, default=Condition.EVERY_FAILURE)
    failures = models.PositiveIntegerField(null=True, blank=True, help_text="N: alert when more than N failures")
    window_minutes = models.PositiveIntegerField(null=True, blank=True, help_text="W: within this many minutes")
    silence_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="T: alert when no execution succeeded for this many minutes"
    )
    emails = models.JSONField(default=list, blank=True, help_text="addresses the alert is e-mailed to")
    webhook_url = models.URLField(max_length=2000, blank=True, help_text="where the alert is POSTed as JSON")
    webhook_secret = models.TextField(blank=True, help_text="the HMAC key, encrypted (core.crypto)")
    throttle_minutes = models.PositiveIntegerField(default=60, help_text="at most one alert per this many minutes")
    enabled = models.BooleanField(default=True)
    last_fired = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    def sync_secret(self) -> str | None:
        """A webhook gets a signing key when it is first configured, and loses it when removed; the new
        plain key, if one was made, is returned to be shown once."""
        if not self.webhook_url:
            self.webhook_secret = ""
            return None
        return None if self.webhook_secret else self.new_secret()

    def new_secret(self) -> str:
        """A fresh signing key, stored encrypted; the plain key is returned to be shown once."""
        plain = "whsec_" + secrets.token_urlsafe(32)
        self.webhook_secret = crypto.encrypt(plain)
        return plain

    def signing_key(self) -> str:
        return crypto.decrypt(self.webhook_secret)


class AlertDelivery(OrganizationScoped):
    """One message sent (or tried) to one recipient: an alert of a rule, or an on-failure handler that
    could not start (``rule`` empty, channel ``handler``). The summary holds what the message said,
    never a secret: the webhook's signing key and the URL's query are not recorded."""

    rule = models.ForeignKey(AlertRule, null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries")
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=500)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["organization", "rule", "-created"], name="alert_delivery_rule")]

    def __str__(self) -> str:
        return f"{self.channel} to {self.recipient}: {self.outcome}"
