"""The signature on an alert webhook, and how a receiver checks it.

erpflow sends ``X-Erpflow-Timestamp: <unix seconds>`` and ``X-Erpflow-Signature: sha256=<hex>``,
the HMAC-SHA256 of ``<timestamp>.<body>`` under the rule's secret. The timestamp is signed with the
body so a captured request cannot be replayed later with a new timestamp: a receiver recomputes the
HMAC, compares in constant time, and refuses a timestamp older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Erpflow-Signature"
TIMESTAMP_HEADER = "X-Erpflow-Timestamp"


def signature(key: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(key.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(key: str, timestamp: str, body: bytes, received: str) -> bool:
    """What a receiver does (shown in the README): the signature matches, compared in constant time."""
    return hmac.compare_digest(signature(key, timestamp, body), received)
