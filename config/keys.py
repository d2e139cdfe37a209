"""The encryption key ring as settings read it: ``ERPFLOW_ENCRYPTION_KEYS``, base64 of 32 bytes each.

Parsed here, below every app, so that settings refuse a bad key at start-up and ``core.crypto``
encrypts with the same ring without a second reading of the variable.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.exceptions import ImproperlyConfigured


def generate_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


def validate_keys(keys: list[str]) -> None:
    """Called by settings at start-up so a bad key stops the process there, not at first use."""
    ring(tuple(keys))


@lru_cache(maxsize=8)
def ring(keys: tuple[str, ...]) -> tuple[str, dict[str, AESGCM]]:
    """The id of the key that encrypts (the first) and every key by id."""
    if not keys:
        raise ImproperlyConfigured("ERPFLOW_ENCRYPTION_KEYS is empty")
    found: dict[str, AESGCM] = {}
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
        kid = key_id(raw)
        found[kid] = AESGCM(raw)
        first = first or kid
    return first, found
