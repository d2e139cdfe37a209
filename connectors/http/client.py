"""The one place an httpx client is built for a connector: TLS, connection limits, the egress guard.

Every outbound connection of an HTTP-based connector goes through the transport made here, so the
egress policy (``connectors.egress``: internal addresses refused unless the connector's admin-set
allowlists name them) applies to API calls, token requests and session logins alike, and to each
redirect hop.
"""

from __future__ import annotations

import logging
import ssl

import httpx

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
    from connectors import egress

    return egress.GuardedTransport(
        egress.Policy.for_connector(settings, private_default=False),
        verify=tls_context(settings),
        limits=httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=KEEPALIVE_SECONDS,
        ),
    )


def build_client(settings: dict, *, max_connections: int = 20, base_url: str = "") -> httpx.Client:
    """A client whose connections all go through the guarded transport; redirects are followed hop by
    hop through it (so each hop is checked) and never carry credentials to another host (httpx drops
    ``Authorization`` on a cross-origin redirect)."""
    return httpx.Client(
        base_url=base_url,
        transport=build_transport(settings, max_connections=max_connections),
        follow_redirects=True,
        max_redirects=5,
        trust_env=False,
    )
