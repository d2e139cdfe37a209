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
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from config import keys

PREFIX = "v1"


class DecryptionError(Exception):
    """A stored secret cannot be decrypted: tampered, truncated, or made with an unknown key."""


def key_ring() -> tuple[str, dict[str, AESGCM]]:
    return keys.ring(tuple(settings.ERPFLOW_ENCRYPTION_KEYS))


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
