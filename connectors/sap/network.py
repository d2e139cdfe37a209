"""Where an SAP connection goes, and the network policy it goes through.

SAP systems live on private networks, so private ranges are allowed unless the installation
narrows them (``connectors.egress``); loopback, metadata and erpflow's own servers are not.
"""

from __future__ import annotations

import re

from connectors.egress import Policy

DEFAULT_ROUTER_PORT = 3299


def egress_policy(settings: dict):
    return Policy.for_connector(settings, private_default=True)


def first_hop(settings: dict) -> tuple[str, int, str]:
    """Where the first TCP hop of an RFC logon goes: the first SAProuter, the message server, or the
    gateway; with the settings that name it, for messages."""
    router = settings.get("saprouter") or ""
    if router:
        match = re.match(r"/H/([^/]+)(?:/S/(\d+))?", router)
        if match:
            return match.group(1), int(match.group(2) or DEFAULT_ROUTER_PORT), "the SAProuter string"
    sysnr = int(settings.get("sysnr") or 0) if str(settings.get("sysnr") or "0").isdigit() else 0
    if settings.get("mshost"):
        service = str(settings.get("msserv") or "")
        port = int(service) if service.isdigit() else 3600 + sysnr
        return settings["mshost"], port, "the message server host and service"
    service = str(settings.get("gwserv") or "")
    numbered = re.fullmatch(r"sapgw(\d\d)", service)
    port = int(service) if service.isdigit() else 3300 + int(numbered.group(1)) if numbered else 3300 + sysnr
    host = settings.get("gwhost") or settings.get("ashost") or ""
    return host, port, "the application server, system number and gateway fields"
