"""The one secret masker: every place that shows, logs or stores text a secret may have reached.

A secret leaves erpflow in more forms than it is stored in: URL-encoded in a path, a query or a
form body, JSON-escaped in a body. A server that echoes a request, or a driver that logs a
connection error, can repeat any of them, so ``Masker`` replaces each form (``wire_forms``), the
longest first so that a secret containing another is masked whole.

Header and query names decide masking too: an instruction may set ``Authorization`` or a cookie
itself, from a variable that is not marked secret. ``Sensitive`` holds such pairs with the mask
showing wherever it is copied, serialized or recorded, and gives the real values only to the
one place that sends them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "••••••••"

_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
_WORDS = ("token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "session", "signature")


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


class Masker:
    """Replaces every one of ``secrets``, in each of its wire forms, wherever it appears in text or data."""

    def __init__(self, secrets: list[str]):
        self.secrets = sorted(set(wire_forms(secrets)), key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def is_sensitive(name: str) -> bool:
    """Whether a header, query or cookie name says its value is a credential."""
    lowered = name.lower()
    return lowered in _HEADERS or any(word in lowered for word in _WORDS)


class Sensitive(dict):
    """Name to value, masked where the name is sensitive; ``real()`` gives the values to send."""

    def __init__(self, pairs: list[tuple[str, str]] | dict):
        pairs = list(pairs.items()) if isinstance(pairs, dict) else list(pairs)
        super().__init__((name, MASK if is_sensitive(name) else value) for name, value in pairs)
        self._real = pairs

    def real(self) -> list[tuple[str, str]]:
        return list(self._real)


def real(pairs) -> list[tuple[str, str]]:
    """The values to send, whether ``pairs`` is ``Sensitive``, a plain dict or a list of pairs."""
    if isinstance(pairs, Sensitive):
        return pairs.real()
    if isinstance(pairs, dict):
        return [(str(k), str(v)) for k, v in pairs.items()]
    return [(str(k), str(v)) for k, v in pairs or []]


def masked_headers(headers) -> dict[str, str]:
    """Response headers to show: sensitive ones masked, repeated ones joined (cookies stay masked)."""
    shown: dict[str, str] = {}
    for name, value in headers.multi_items():
        key = name.lower()
        value = MASK if is_sensitive(key) else value
        shown[key] = f"{shown[key]}, {value}" if key in shown and value != MASK else value
    return shown
