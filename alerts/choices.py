"""The kinds an alert rule and its deliveries are made of."""

from django.db import models


class Condition(models.TextChoices):
    EVERY_FAILURE = "every_failure", "Every failed execution"
    FAILURES_OVER = "failures_over", "More than N failures within W minutes"
    NO_SUCCESS = "no_success", "No successful execution for T minutes"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook"
    HANDLER = "handler", "On-failure handler"


class Outcome(models.TextChoices):
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
