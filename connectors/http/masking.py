"""Which header and query values are credentials, and how they are kept out of records.

The engine records a step's rendered parameters; an instruction may set ``Authorization`` or a
cookie itself, from a variable that is not marked secret. ``Sensitive`` is a dict whose visible
content holds the mask for such values, so every copy, serialization or record of it shows the
mask, while the request is sent with ``Sensitive.real()``: the one place that reads the values.

A connector's own credentials leave in forms the settings do not hold (base64 of ``user:password``,
a default header's value); ``derived_secrets`` names them, so a server echoing a request cannot put
them into an output or an error.
"""

from __future__ import annotations

import base64

import httpx

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


def basic_credentials(username: str, password: str) -> str:
    """The base64 part of ``Authorization: Basic``, encoded as httpx encodes it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def derived_secrets(settings: dict) -> list[str]:
    """What an HTTP-based connector builds from its resolved settings and sends besides the secrets
    themselves: basic credentials in base64 (the API's, and the OAuth2 client's at the token URL), and
    the values of default and token-request headers named like credentials (with any scheme cut off)."""
    from connectors.http.fields import header_lines

    found = []
    kind = settings.get("auth_type")
    if kind == "basic" and settings.get("password"):
        found.append(basic_credentials(settings.get("username") or "", settings["password"]))
    client_secret = settings.get("oauth_client_secret")
    if kind == "oauth2_client_credentials" and settings.get("oauth_client_auth") == "basic" and client_secret:
        found.append(basic_credentials(settings.get("oauth_client_id") or "", client_secret))
    for name in ("default_headers", "oauth_headers"):
        try:
            headers = header_lines(settings.get(name))
        except ValueError:  # refused when saved; the pool names the problem when it opens
            continue
        for header, value in headers:
            if is_sensitive(header) and value:
                found += [value, *[part for part in value.split(" ", 1)[1:] if len(part) >= 6]]
    return found


def cookie_values(cookies: httpx.Cookies | None) -> list[str]:
    """The values of a jar's cookies long enough to be credentials (read from the jar itself: httpx's
    mapping view raises on one name set for two paths or domains)."""
    return [cookie.value for cookie in list(cookies.jar if cookies else ()) if cookie.value and len(cookie.value) >= 6]
