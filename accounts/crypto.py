"""Encryption at rest for every secret erpflow stores, and the mask shown in its place.

AES-256-GCM under a key ring from ``ERPFLOW_ENCRYPTION_KEYS`` (comma-separated, base64 of 32
bytes each). The first key encrypts; every key decrypts, so a rotation can add a new key in
front, re-encrypt (``manage.py rotate_encryption_key``) and only then drop the old one.
A token names the key that made it, so decryption never guesses, and GCM's tag makes any
tampering fail loudly instead of returning garbage.

Token format: ``v1:<key id>:<base64url(nonce || ciphertext+tag)>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from functools import lru_cache
from urllib.parse import quote, quote_plus

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MASK = "••••••••"
PREFIX = "v1"


class DecryptionError(Exception):
    """A stored secret cannot be decrypted: tampered, truncated, or made with an unknown key."""


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def validate_keys(keys: list[str]) -> None:
    """Called by settings at start-up so a bad key stops the process there, not at first use."""
    _ring(tuple(keys))


@lru_cache(maxsize=8)
def _ring(keys: tuple[str, ...]) -> tuple[str, dict[str, AESGCM]]:
    if not keys:
        raise ImproperlyConfigured("ERPFLOW_ENCRYPTION_KEYS is empty")
    ring: dict[str, AESGCM] = {}
    first = ""
    for position, text in enumerate(keys, start=1):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImproperlyConfigured(f"ERPFLOW_ENCRYPTION_KEYS: key {position} is not valid base64") from None
        if len(raw) != 32:
            raise ImproperlyConfigured(
                f"ERPFLOW_ENCRYPTION_KEYS: key {position} must be 32 bytes (AES-256), it has {len(raw)}"
            )
        kid = _key_id(raw)
        ring[kid] = AESGCM(raw)
        first = first or kid
    return first, ring


def key_ring() -> tuple[str, dict[str, AESGCM]]:
    return _ring(tuple(settings.ERPFLOW_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    kid, ring = key_ring()
    nonce = os.urandom(12)
    sealed = ring[kid].encrypt(nonce, plaintext.encode(), kid.encode())
    return f"{PREFIX}:{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def decrypt(token: str) -> str:
    try:
        prefix, kid, body = token.split(":", 2)
    except ValueError:
        raise DecryptionError("not an erpflow ciphertext") from None
    if prefix != PREFIX:
        raise DecryptionError(f"unknown ciphertext version {prefix!r}")
    _, ring = key_ring()
    if kid not in ring:
        raise DecryptionError(f"ciphertext was made with key {kid}, which is not in ERPFLOW_ENCRYPTION_KEYS")
    try:
        blob = base64.urlsafe_b64decode(body.encode())
        return ring[kid].decrypt(blob[:12], blob[12:], kid.encode()).decode()
    except (InvalidTag, ValueError, binascii.Error):
        raise DecryptionError("ciphertext failed authentication: it was altered or truncated") from None


def needs_rotation(token: str) -> bool:
    """True when the token was not made with the current (first) key."""
    current, _ = key_ring()
    parts = token.split(":", 2)
    return len(parts) != 3 or parts[1] != current


def mask(value: str | None) -> str:
    """What any page or response shows for a stored secret: a fixed mask, never a hint of length."""
    return MASK if value else ""


def wire_forms(secrets: list[str]) -> list[str]:
    """Each secret as sent and as a server may repeat it: as is, URL-encoded (a path, a query, a form
    body) and JSON-escaped; each once."""
    found: dict[str, None] = {}
    for secret in secrets:
        if not secret:
            continue
        for form in (
            secret,
            quote(secret, safe=""),
            quote_plus(secret),
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
        ):
            found[form] = None
    return list(found)
