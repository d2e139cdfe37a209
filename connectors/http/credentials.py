"""The forms a connector's own credentials take on the wire, which its settings do not hold.

Base64 of ``user:password`` for basic authentication, a default header's value, a session cookie:
``derived_secrets`` and ``cookie_values`` name them, so the masker hides them too and a server
echoing a request cannot put them into an output or an error. Which names are credentials, and how
recorded headers are masked, is ``core.masking``'s.
"""

from __future__ import annotations

import base64

import httpx

from connectors.http.fields import header_lines
from core.masking import is_sensitive


def basic_credentials(username: str, password: str) -> str:
    """The base64 part of ``Authorization: Basic``, encoded as httpx encodes it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()


def derived_secrets(settings: dict) -> list[str]:
    """What an HTTP-based connector builds from its resolved settings and sends besides the secrets
    themselves: basic credentials in base64 (the API's, and the OAuth2 client's at the token URL), and
    the values of default and token-request headers named like credentials (with any scheme cut off)."""

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
