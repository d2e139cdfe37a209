"""The one place an httpx client is built for a connector: TLS, connection limits, the egress guard,
redirects.

Every outbound connection of an HTTP-based connector goes through the transport made here, so the
egress policy (``connectors.egress``: internal addresses refused unless the connector's admin-set
allowlists name them) applies to API calls, token requests and session logins alike, and to each
redirect hop.

A redirect is followed only within the request's origin (scheme, host and port). httpx drops just
``Authorization`` on a cross-origin hop; an API key header or query parameter, a credential default
header, session cookies and a token request's or login's body would all go along. Refusing the hop
before it is sent keeps every one of them, present and future, with the server they were meant for.
"""

from __future__ import annotations

import logging
import ssl

import httpx

from connectors import egress
from connectors.catalog.base import ConnectorError

KEEPALIVE_SECONDS = 60.0


class _NoQueryInLogs(logging.Filter):
    """httpx logs every request's URL; an API key sent as a query parameter must not reach the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(arg, httpx.URL) for arg in record.args):
            record.args = tuple(
                arg.copy_with(query=None) if isinstance(arg, httpx.URL) and arg.query else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_NoQueryInLogs())


def tls_context(settings: dict) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` takes: False when checking is off, else a context trusting the extra CAs too."""
    if not settings.get("verify_tls", True):
        return False
    context = ssl.create_default_context()
    bundle = (settings.get("ca_bundle") or "").strip()
    if bundle:
        try:
            context.load_verify_locations(cadata=bundle)
        except (ssl.SSLError, ValueError) as exc:
            raise ConnectorError(f"the CA certificates setting is not valid PEM: {exc}") from None
    return context


def build_transport(settings: dict, *, max_connections: int) -> httpx.BaseTransport:
    """The guarded transport: HTTP connectors reach private networks only through their allowlist."""

    return egress.GuardedTransport(
        egress.Policy.for_connector(settings, private_default=False),
        verify=tls_context(settings),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
    )


class CrossOriginRedirect(ConnectorError):
    """A server redirected a request to another scheme, host or port; see the module docstring."""


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme)


def same_origin_redirects_only(response: httpx.Response) -> None:
    """httpx's response hook, run before it follows a redirect: CrossOriginRedirect for another origin."""
    if not response.has_redirect_location:
        return
    source = response.request.url
    try:
        target = source.join(response.headers["location"])
    except httpx.InvalidURL:
        return  # httpx refuses to follow it itself
    if origin(target) == origin(source):
        return
    shown = target.copy_with(query=None, fragment=None)
    raise CrossOriginRedirect(
        f"{response.request.method} {source.copy_with(query=None)} was redirected to another origin ({shown}); "
        "erpflow follows redirects only to the same scheme, host and port, so the connector's credentials go "
        "nowhere else. Use that address as the base URL, or in a connector of its own."
    )


def build_client(settings: dict, *, max_connections: int = 20, base_url: str = "") -> httpx.Client:
    """A client whose connections all go through the guarded transport; redirects are followed hop by
    hop through it (so each hop is checked), and only within the request's origin."""
    return httpx.Client(
        base_url=base_url,
        transport=build_transport(settings, max_connections=max_connections),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
        event_hooks={"response": [same_origin_redirects_only]},
    )
