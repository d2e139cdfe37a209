"""Which header and query values are credentials, and how they are kept out of records.

The engine records a step's rendered parameters; an instruction may set ``Authorization`` or a
cookie itself, from a variable that is not marked secret. ``Sensitive`` is a dict whose visible
content holds the mask for such values, so every copy, serialization or record of it shows the
mask, while the request is sent with ``Sensitive.real()``: the one place that reads the values.
"""

from __future__ import annotations

from accounts.crypto import MASK

_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key", "x-auth-token"}
_WORDS = ("token", "secret", "password", "passwd", "apikey", "api-key", "api_key", "session", "signature")


def is_sensitive(name: str) -> bool:
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
