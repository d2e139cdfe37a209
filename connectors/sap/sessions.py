"""Pooled SAP sessions: one logged-on RFC connection or SOAP HTTP session per pool slot.

RFC logons are expensive (a logon, an ABAP session, often a SAProuter hop), so sessions stay
open in a ``SimplePool`` with the same three settings as the database connectors: minimum idle,
maximum size, idle timeout. A SOAP session logs on (and fetches its CSRF token) when it opens.
"""

from __future__ import annotations

from connectors.catalog.base import Deadline
from connectors.sap.rfc import RfcSession
from connectors.sap.soap import SoapSession
from connectors.simplepool import SimplePool


def open_session(settings: dict, timeout: float, interfaces: dict | None = None):
    """A new logged-on session of the settings' transport; ConnectorError (or DriverMissing) when not.
    ``interfaces``: the RFC function descriptions the pool's sessions share (see ``connectors.sap.rfc``)."""
    if settings.get("transport") == "soap":
        session = SoapSession(settings, connect_timeout=timeout)
        try:
            session.logon(Deadline(int(timeout * 1000)))
        except Exception:
            session.close()
            raise
        return session

    return RfcSession(settings, interfaces)


def open_pool(settings: dict, *, name: str) -> SimplePool:
    connect_timeout = float(settings.get("connect_timeout") or 10)
    interfaces: dict = {}
    return SimplePool(
        lambda timeout: open_session(settings, timeout, interfaces),
        min_idle=int(settings.get("min_idle") or 0),
        max_size=int(settings.get("max_pool") or 10),
        idle_timeout=int(settings.get("idle_timeout_ms") or 600_000) / 1000,
        connect_timeout=connect_timeout,
        is_alive=lambda session: session.alive(),
        name=name,
    )
