from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from accounts.tenancy import OrganizationScoped

SLUG = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*$",
    "Use lowercase letters, digits, '-' and '_', starting with a letter or digit.",
)


class ManagedCall(OrganizationScoped):
    """A named, synchronous call to an HTTP connector: payload in, mapped request out, mapped answer back."""

    name = models.CharField(max_length=120)
    slug = models.CharField(max_length=120, validators=[SLUG])
    description = models.TextField(blank=True)
    connector = models.ForeignKey("connectors.Connector", on_delete=models.PROTECT, related_name="managed_calls")
    environment = models.ForeignKey("accounts.Environment", on_delete=models.PROTECT, related_name="+")
    request = models.TextField(help_text="The request in the HTTP instruction format.")
    request_mapping = models.TextField(blank=True, help_text="JSONata over {payload, env}; its result is the body.")
    response_mapping = models.TextField(
        blank=True, help_text="JSONata over {status, headers, body, payload}; its result is the answer's data."
    )
    timeout_ms = models.PositiveIntegerField(
        default=10_000, validators=[MinValueValidator(1), MaxValueValidator(60_000)]
    )
    enabled = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="unique_managed_call_slug")]

    def __str__(self) -> str:
        return self.slug
