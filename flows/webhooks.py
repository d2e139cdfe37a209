"""Webhooks: a secret URL per flow and environment, for systems that cannot send a bearer token.

Whoever knows ``/hooks/<token>`` can start the flow's deployed version in that environment, so
the token is the credential: 256 random bits, looked up by its SHA-256, kept encrypted (not
hashed only) so editors can copy the URL again, shown to no one below the editor role, and
rotated on request, which makes the old URL answer 404 at once.
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.rotation import rotator, save_rotated
from core import crypto
from flows.models import Flow, Webhook

PREFIX = "whk_"


class WebhookExists(Exception):
    """The flow already has a webhook in that environment; rotate it instead."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create(flow: Flow, environment) -> tuple[Webhook, str]:
    """A new webhook of ``flow`` in ``environment``; returns it with its token."""
    token = _new_token()
    try:
        with transaction.atomic():
            webhook = Webhook.objects.create(
                flow=flow, environment=environment, token_hash=_hash(token), token_encrypted=crypto.encrypt(token)
            )
    except IntegrityError:
        raise WebhookExists(
            f"Flow '{flow.name}' already has a webhook in {environment.name}; rotate it to get a new URL."
        ) from None
    return webhook, token


def rotate(webhook: Webhook) -> str:
    """Replace the token: the old URL stops working the moment this commits."""
    token = _new_token()
    webhook.token_hash = _hash(token)
    webhook.token_encrypted = crypto.encrypt(token)
    webhook.rotated = timezone.now()
    webhook.save(update_fields=["token_hash", "token_encrypted", "rotated"])
    return token


def token_of(webhook: Webhook) -> str:
    return crypto.decrypt(webhook.token_encrypted)


def path_of(webhook: Webhook) -> str:
    return reverse("webhook", args=[token_of(webhook)])


def find(token: str) -> Webhook | None:
    """The webhook of ``token`` with its flow and environment, or None (also for malformed tokens)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    return Webhook.objects.select_related("flow", "environment").filter(token_hash=_hash(token)).first()


@rotator("webhooks")
def rotate_encryption() -> int:
    """Re-encrypt stored webhook tokens under the current key (``manage.py rotate_encryption_key``)."""
    changed = []
    for webhook in Webhook.objects.select_for_update().only("pk", "token_encrypted"):
        if crypto.needs_rotation(webhook.token_encrypted):
            webhook.token_encrypted = crypto.encrypt(crypto.decrypt(webhook.token_encrypted))
            changed.append(webhook)
    return save_rotated(Webhook, changed, ["token_encrypted"])
