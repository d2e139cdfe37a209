"""Posting an alert to a rule's webhook: JSON, signed (``alerts.signing``), through the network policy.

The connection goes through the same egress guard as the HTTP connector's (``connectors.egress``,
with no allowlists of its own): a rule cannot point erpflow at its own services, at cloud metadata
or at private networks the installation does not allow. Redirects are not followed: a webhook
answers where it was configured, or the delivery fails.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit, urlunsplit

import httpx
from django.core.serializers.json import DjangoJSONEncoder

from alerts import signing
from connectors import egress

TIMEOUT_SECONDS = 10.0


class WebhookFailed(Exception):
    """The receiver could not be reached or did not answer 2xx; the message is safe to record."""


def policy() -> egress.Policy:
    return egress.Policy.for_connector({}, private_default=False)


def check_url(url: str) -> str | None:
    """Why the network policy refuses ``url`` (a message naming the host), or None when it may be used."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "Give an http:// or https:// address."
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        policy().check_host(parts.hostname, port)
    except ValueError:
        return "The port is not a number from 1 to 65535."
    except egress.HostNotFound:
        return f"The host {parts.hostname} does not resolve."
    except egress.EgressRefused as exc:
        return f"The network policy refuses this address: {exc}."
    return None


def shown(url: str) -> str:
    """The URL as it may be recorded and logged: without credentials, query or fragment (tokens live there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def post(url: str, key: str, message: dict) -> int:
    """POST ``message`` signed with ``key``; the status code, or WebhookFailed saying what went wrong."""
    body = json.dumps(message, cls=DjangoJSONEncoder, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "erpflow-alerts",
        signing.TIMESTAMP_HEADER: timestamp,
        signing.SIGNATURE_HEADER: signing.signature(key, timestamp, body),
    }
    try:
        with httpx.Client(
            transport=egress.GuardedTransport(policy()), timeout=TIMEOUT_SECONDS, trust_env=False
        ) as client:
            response = client.post(url, content=body, headers=headers)
    except egress.EgressRefused as exc:
        raise WebhookFailed(f"refused by the network policy: {exc}") from None
    except egress.HostNotFound as exc:
        raise WebhookFailed(f"host not found: {exc}") from None
    except httpx.TimeoutException:
        raise WebhookFailed(f"no answer within {TIMEOUT_SECONDS:g} s") from None
    except httpx.HTTPError as exc:
        raise WebhookFailed(f"{type(exc).__name__}: could not reach {shown(url)}") from None
    if not 200 <= response.status_code < 300:
        raise WebhookFailed(f"answered HTTP {response.status_code}")
    return response.status_code
