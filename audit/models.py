from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.tenancy import OrganizationScoped


class AuditEvent(OrganizationScoped):
    """One change or action: who (user, token or system task), what (object type and id), when, and
    which fields changed. Secrets are masked and variable values never recorded, so the log itself
    can be shown to every admin."""

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Changed"
        DELETE = "delete", "Deleted"
        PUBLISH = "publish", "Published"
        DEPLOY = "deploy", "Deployed"
        ROTATE = "rotate", "Rotated"
        REVOKE = "revoke", "Revoked"
        REPLAY = "replay", "Replayed"
        CANCEL = "cancel", "Cancelled"

    # Outlives its organization, user and token (until the retention period ends): no cascade, no constraint.
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, help_text="user name (and token), or the system task")
    token = models.ForeignKey(
        "accounts.ApiToken", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True, help_text="field: [before, after], secrets masked")

    class Meta:
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["organization", "object_type", "object_id"], name="audit_object")]

    def __str__(self) -> str:
        return f"{self.actor_label} {self.action} {self.object_type} {self.object_repr}"
