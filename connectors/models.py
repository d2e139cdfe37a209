from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from accounts.tenancy import OrganizationScoped
from connectors import catalog


class Connector(OrganizationScoped):
    """A registered connection to one external system (SAP, a database, an HTTP API)."""

    class Scope(models.TextChoices):
        EVERYONE = "everyone", "Everyone in the organization"
        CHOSEN = "chosen", "Chosen users and groups"

    type_key = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    version = models.CharField(max_length=40, default="1.0")
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.EVERYONE)
    allowed_users = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    allowed_groups = models.ManyToManyField(Group, blank=True, related_name="+")
    concurrency_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Maximum simultaneous calls across all workers; empty for no limit."
    )
    revision = models.PositiveIntegerField(default=1)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="unique_connector_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def connector_type(self):
        """An instance of the connector's type (``type_key`` in the catalog); KeyError when not installed."""
        return catalog.connector_type(self.type_key)


class ConnectorSettings(models.Model):
    """The settings of one connector in one environment; secret values are stored encrypted."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="settings")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.CASCADE, related_name="+")
    values = models.JSONField(default=dict)
    last_test = models.JSONField(null=True, blank=True)
    last_tested = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connector", "environment"], name="one_settings_per_env")]

    def __str__(self) -> str:
        return f"{self.connector} in {self.environment}"


class PoolReport(models.Model):
    """One process's figures of its live pool of a connector in an environment, for the other processes.

    Written only without Redis (``make run``): with Redis the figures go there (``connectors.pool_stats``).
    Plain ids rather than foreign keys, so a report never blocks deleting its connector; a report
    older than three publishing intervals is ignored and then deleted.
    """

    connector_id = models.BigIntegerField()
    environment_id = models.BigIntegerField()
    process = models.CharField(max_length=255)
    figures = models.JSONField()
    at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connector_id", "environment_id", "process"], name="one_report_per_process")
        ]

    def __str__(self) -> str:
        return f"pool of connector {self.connector_id} in environment {self.environment_id} at {self.process}"
