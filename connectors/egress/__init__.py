"""The outbound network policy every connector's connections go through (see ``policy`` for the rules).

``Policy.for_connector(settings, private_default=...)`` builds a connector's policy;
``Policy.check_host(host, port)`` answers the addresses a connection may go to; ``connect`` opens
a plain TCP connection to one of them; ``GuardedTransport`` does the same for every connection of an
httpx client.
"""

from connectors.egress import transport
from connectors.egress.policy import EgressRefused, HostNotFound, Policy, connect, open_first

__all__ = ["EgressRefused", "GuardedTransport", "HostNotFound", "Policy", "connect", "open_first"]


def __getattr__(name: str):
    # httpx is imported only by the connectors that speak HTTP.
    if name in ("GuardedTransport", "GuardedBackend"):
        return getattr(transport, name)
    raise AttributeError(name)
