from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.auth_cache import tokens
from accounts.choices import DEFAULT_ENVIRONMENTS, ROLE_RANK, Role, Scope
from accounts.tenancy import OrganizationQuerySet, OrganizationScoped
from core import crypto, masking

VARIABLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


class Organization(models.Model):
    """A tenant: everything an organization owns is invisible to every other one."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=120, unique=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    @transaction.atomic
    def create(cls, name: str, owner=None, slug: str | None = None) -> Organization:
        """A new organization with its default environments and, when given, its owner."""
        base = slug or slugify(name) or "org"
        candidate, n = base, 1
        while cls.objects.filter(slug=candidate).exists():
            n += 1
            candidate = f"{base}-{n}"
        organization = cls.objects.create(name=name, slug=candidate)
        for env in DEFAULT_ENVIRONMENTS:
            Environment.objects.create(organization=organization, name=env.title(), slug=env)
        if owner is not None:
            Membership.objects.create(organization=organization, user=owner, role=Role.OWNER)
        return organization


class Membership(models.Model):
    """A user's role in one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[Role(self.role)] >= ROLE_RANK[Role(role)]


class Environment(OrganizationScoped):
    """A place flows run and connectors are configured for: sandbox, production, or more."""

    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=60)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["organization", "slug"], name="unique_env_slug")]

    def __str__(self) -> str:
        return self.name

    def variables_dict(self) -> dict[str, str]:
        """Every variable's plain value, secrets decrypted: for rendering, never for display."""
        return {var.key: var.plain_value() for var in self.variables.all()}

    def secret_values(self) -> list[str]:
        return [var.plain_value() for var in self.variables.filter(secret=True)]


class Variable(OrganizationScoped):
    """A key and value of one environment, referenced as ``{{ env.KEY }}``; secrets are encrypted."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="variables")
    key = models.CharField(max_length=128)
    value = models.TextField(blank=True, help_text="Plain text, or ciphertext when secret is set.")
    secret = models.BooleanField(default=False)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["environment", "key"], name="unique_variable_key")]

    def __str__(self) -> str:
        return self.key

    def clean(self):
        if not VARIABLE_KEY.match(self.key or ""):
            raise ValidationError({"key": "Use letters, digits and underscores, starting with a letter or underscore."})

    def set_value(self, plain: str) -> None:
        self.value = crypto.encrypt(plain) if self.secret else plain

    def plain_value(self) -> str:
        return crypto.decrypt(self.value) if self.secret and self.value else self.value

    @property
    def display_value(self) -> str:
        return masking.mask(self.value) if self.secret else self.value


TOKEN_PREFIX = "erp"  # noqa: S105 - a public marker, not a secret


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiTokenQuerySet(OrganizationQuerySet):
    def usable(self):
        now = timezone.now()
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=now)
        )


class ApiToken(OrganizationScoped):
    """A machine credential acting for one member, limited to its scopes; only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    scopes = models.JSONField(default=list)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def issue(cls, *, organization, user, name, scopes, expires_at=None) -> tuple[ApiToken, str]:
        """Create a token and return it with its plain value, which is never retrievable again."""
        unknown = sorted(set(scopes) - set(Scope.values))
        if unknown:
            raise ValidationError({"scopes": f"Unknown scopes: {', '.join(unknown)}"})
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        token = cls.objects.create(
            organization=organization,
            user=user,
            name=name,
            key_id=key_id,
            key_hash=_hash(secret),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        return token, f"{TOKEN_PREFIX}_{key_id}_{secret}"

    @classmethod
    def authenticate(cls, presented: str) -> ApiToken | None:
        parts = presented.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            return None
        # The query is built on a miss only: building it cost as much as the cached read saved.
        token = tokens.get(
            parts[1],
            lambda: cls.objects.usable().select_related("organization", "user").filter(key_id=parts[1]).first(),
        )
        if token is None or not hmac.compare_digest(token.key_hash, _hash(parts[2])):
            return None
        if token.expires_at and token.expires_at <= timezone.now():
            return None  # expired while cached
        return token

    @property
    def state(self) -> str:
        if self.revoked_at:
            return "revoked"
        if self.expires_at and self.expires_at <= timezone.now():
            return "expired"
        return "active"

    def revoke(self) -> None:
        """Saved, not updated in SQL, so the audit log records who revoked it."""
        if self.revoked_at is None:
            self.revoked_at = timezone.now()
            self.save(update_fields=["revoked_at"])
