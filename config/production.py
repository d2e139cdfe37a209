"""Refusals at start-up for settings that would make a production installation unsafe.

Django's ``check --deploy`` only warns about a weak secret key, and a warning is easy to miss in a
container's log; a key copied from documentation, or a short one, would let anyone who knows it
forge sessions and password-reset links on every installation that shares it. So it stops the process.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 50
MIN_DISTINCT = 5
KNOWN_DEFAULTS = ("django-insecure", "change-me", "changeme", "secret", "your-secret-key")


def refuse_weak_secret_key(key: str) -> None:
    lowered = key.lower()
    if any(lowered.startswith(default) for default in KNOWN_DEFAULTS):
        raise ImproperlyConfigured("SECRET_KEY is a well-known placeholder; generate one per installation.")
    if len(key) < MIN_LENGTH or len(set(key)) < MIN_DISTINCT:
        raise ImproperlyConfigured(
            f"SECRET_KEY is too weak: use at least {MIN_LENGTH} random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))").'
        )
