"""The settings fields HTTP-based connector types share, and the rules across them.

The generic HTTP type shows every group; Acumatica reuses the TLS, limits, concurrency and network
groups and supplies its own connection and sign-in fields. Multi-line settings (default headers,
OAuth2 extras) are one ``Name: value`` or ``name=value`` per line, parsed by ``lines``.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from connectors.catalog.base import Field
from connectors.egress.addresses import parse_networks
from connectors.egress.names import parse_patterns

AUTH_TYPES = (
    ("none", "None"),
    ("basic", "Basic (username and password)"),
    ("bearer", "Bearer token"),
    ("api_key", "API key"),
    ("oauth2_client_credentials", "OAuth2 client credentials"),
    ("session", "Session login (cookie)"),
)
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def tls_fields() -> tuple[Field, ...]:
    return (
        Field(
            "verify_tls",
            "Verify TLS certificates",
            "Check the server's certificate and name. Turn off only for a test server you control; only admins "
            "may turn it off.",
            kind="bool",
            default=True,
            group="tls",
            admin_only=True,
            strictness=(False, True),
        ),
        Field(
            "ca_bundle",
            "CA certificates (PEM)",
            "Certificates of a private certificate authority to trust besides the public ones, pasted as PEM. "
            "Only admins may change it.",
            kind="text",
            group="tls",
            admin_only=True,
        ),
    )


def limit_fields(*, max_pool: int = 20) -> tuple[Field, ...]:
    return (
        Field(
            "timeout_cap_ms",
            "Request timeout cap (ms)",
            "No request waits longer than this, even when its step allows more.",
            kind="int",
            default=30_000,
            min=100,
            max=300_000,
            group="limits",
        ),
        Field(
            "max_response_bytes",
            "Response size cap (bytes)",
            "A response body larger than this fails the step instead of filling the worker's memory.",
            kind="int",
            default=10 * 1024 * 1024,
            min=1024,
            max=100 * 1024 * 1024,
            group="limits",
        ),
        Field(
            "max_pool",
            "Maximum open connections",
            "Keep-alive connections one worker process holds to the server at most.",
            kind="int",
            default=max_pool,
            min=1,
            max=200,
            group="limits",
        ),
    )


def concurrency_fields(*, default: int | None) -> tuple[Field, ...]:
    return (
        Field(
            "concurrency_level",
            "Concurrency level",
            "Most calls in flight to this connection at once, counted across every worker (1 to 25). "
            "A call over it waits inside its step's timeout. Empty: only the connector's own limit applies.",
            kind="int",
            default=default,
            min=1,
            max=25,
            group="concurrency",
        ),
        Field(
            "borrow_concurrency_from",
            "Borrow concurrency from",
            "Name of another connector of this organization whose concurrency level this one shares: calls "
            "through either count against that connector's level (for two connections to one server).",
            max=120,
            group="concurrency",
        ),
    )


def network_fields() -> tuple[Field, ...]:
    return (
        Field(
            "allowed_hosts",
            "Allowed hosts",
            "Host names this connector may reach, one per line: exact (api.example.com) or a wildcard with "
            "at least two labels after it (*.example.com). Empty: any public host.",
            kind="text",
            group="network",
            admin_only=True,
        ),
        Field(
            "allowed_networks",
            "Allowed private networks",
            "Private, loopback or other internal address ranges this connector may reach, as CIDR, one per "
            "line (10.0.1.0/24). Internal addresses are refused unless listed here. Only admins may change it.",
            kind="text",
            group="network",
            admin_only=True,
        ),
    )


def auth_fields() -> tuple[Field, ...]:
    return (
        Field(
            "auth_type",
            "Authentication",
            "How erpflow proves who it is to the API.",
            kind="choice",
            default="none",
            choices=AUTH_TYPES,
            group="auth",
        ),
        Field("username", "Username", "For basic authentication and session login.", max=255, group="auth"),
        Field("password", "Password", "For basic authentication and session login.", secret=True, group="auth"),
        Field("token", "Bearer token", "Sent as 'Authorization: Bearer <token>'.", secret=True, group="auth"),
        Field(
            "api_key_name",
            "API key name",
            "The header (or query parameter) that carries the key.",
            default="X-API-Key",
            max=120,
            group="auth",
        ),
        Field(
            "api_key_in",
            "Send the API key in",
            "A request header or a query parameter.",
            kind="choice",
            default="header",
            choices=(("header", "Header"), ("query", "Query parameter")),
            group="auth",
        ),
        Field("api_key", "API key", "The key itself.", secret=True, group="auth"),
        Field(
            "oauth_token_url",
            "Token URL",
            "The OAuth2 token endpoint (client credentials grant).",
            kind="url",
            max=2000,
            group="auth",
            destination=True,
        ),
        Field("oauth_client_id", "Client ID", "The OAuth2 client identifier.", max=255, group="auth"),
        Field("oauth_client_secret", "Client secret", "The OAuth2 client secret.", secret=True, group="auth"),
        Field("oauth_scope", "Scope", "Space-separated scopes to request; empty for the default.", group="auth"),
        Field("oauth_audience", "Audience", "The audience parameter some providers require.", group="auth"),
        Field("oauth_resource", "Resource", "The resource parameter (RFC 8707) some providers require.", group="auth"),
        Field(
            "oauth_client_auth",
            "Send client credentials",
            "In the form body (client_secret_post) or as HTTP basic authentication (client_secret_basic).",
            kind="choice",
            default="body",
            choices=(("body", "In the body"), ("basic", "Basic authentication")),
            group="auth",
        ),
        Field(
            "oauth_body_params",
            "Extra token body parameters",
            "More form fields for the token request, one name=value per line.",
            kind="text",
            group="auth",
        ),
        Field(
            "oauth_headers",
            "Token request headers",
            "Headers for the token request, one 'Name: value' per line.",
            kind="text",
            group="auth",
        ),
        Field(
            "oauth_query_params",
            "Token query parameters",
            "Query parameters for the token request, one name=value per line.",
            kind="text",
            group="auth",
        ),
        Field(
            "session_login_path",
            "Login path",
            "For session login: the path, relative to the base URL, that signs in and sets the session cookie.",
            max=500,
            group="auth",
        ),
        Field(
            "session_logout_path",
            "Logout path",
            "For session login: the path that ends the session when the connection pool closes; empty for none.",
            max=500,
            group="auth",
        ),
        Field(
            "session_username_field",
            "Username field",
            "Name of the login body's username field.",
            default="username",
            max=120,
            group="auth",
        ),
        Field(
            "session_password_field",
            "Password field",
            "Name of the login body's password field.",
            default="password",
            max=120,
            group="auth",
        ),
        Field(
            "session_extra",
            "More login fields",
            "Further fields of the login body (a company, a branch), one name=value per line.",
            kind="text",
            group="auth",
        ),
    )


def lines(text: str | None, separator: str) -> list[tuple[str, str]]:
    """``name<separator>value`` pairs of a multi-line setting; ValueError naming the line that is wrong."""
    pairs = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        if not raw.strip():
            continue
        name, found, value = raw.partition(separator)
        if not found or not name.strip():
            shape = "Name: value" if separator == ":" else "name=value"
            raise ValueError(f"line {number}: write it as {shape}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def header_lines(text: str | None) -> list[tuple[str, str]]:
    pairs = lines(text, ":")
    for name, _ in pairs:
        if not _HEADER_NAME.match(name):
            raise ValueError(f"'{name}' is not a valid header name")
    return pairs


_NEEDS = {
    "basic": ("username", "password"),
    "bearer": ("token",),
    "api_key": ("api_key_name", "api_key"),
    "oauth2_client_credentials": ("oauth_token_url", "oauth_client_id", "oauth_client_secret"),
    "session": ("session_login_path", "username", "password"),
}


def check_common(values: dict) -> dict[str, str]:
    """Rules of the shared fields; a key absent from ``values`` (a secret before saving) is not judged."""
    errors: dict[str, str] = {}
    for name in ("base_url", "oauth_token_url", "instance_uri"):
        url = values.get(name)
        if url:
            parts = urlsplit(str(url))
            if parts.scheme not in ("http", "https") or not parts.hostname:
                errors[name] = "Enter an http:// or https:// URL with a host name."
            elif parts.username or parts.password:
                errors[name] = "Put credentials in the authentication fields, not in the URL."
    for name, parse in (
        ("default_headers", header_lines),
        ("oauth_headers", header_lines),
        ("oauth_body_params", lambda t: lines(t, "=")),
        ("oauth_query_params", lambda t: lines(t, "=")),
        ("session_extra", lambda t: lines(t, "=")),
    ):
        try:
            parse(values.get(name))
        except ValueError as problem:
            errors[name] = str(problem)

    for name, parse in (("allowed_hosts", parse_patterns), ("allowed_networks", parse_networks)):
        _, problems = parse(values.get(name))
        if problems:
            errors[name] = "; ".join(problems)
    auth = values.get("auth_type")
    for name in _NEEDS.get(auth, ()):
        if name in values and not values[name]:
            errors.setdefault(name, f"Required for {dict(AUTH_TYPES)[auth]}.")
    return errors
