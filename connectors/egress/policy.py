"""The outbound network policy: which hosts and addresses a connector may open a connection to.

One policy governs every outbound connection of every connector (HTTP, databases, SAP), so a
connector, or its connection test, cannot be pointed at the machine's own services, at cloud
metadata, or used to scan internal networks beyond what the installation allows. The rules, in the
order they are applied to every address a host resolves to:

1. Never: cloud metadata addresses and names, 0.0.0.0/8, broadcast, multicast, reserved and
   documentation ranges; an IPv6 address is also judged by the IPv4 address it carries (mapped,
   NAT64, 6to4, Teredo).
2. erpflow's own PostgreSQL, Redis and broker (host and port from the settings) unless listed in
   ``ERPFLOW_EGRESS_ALLOW_INTERNAL``.
3. Public addresses: allowed.
4. ``ERPFLOW_EGRESS_ALLOWED_NETWORKS``: allowed for every connector.
5. ``ERPFLOW_EGRESS_PRIVATE_NETWORKS``, when set: nothing else outside it.
6. The connector's own ``allowed_networks``: allowed.
7. Private ranges (10/8, 172.16/12, 192.168/16, fc00::/7): allowed when the type's default says so
   (databases and ERPs live there; HTTP APIs usually do not). Loopback, link-local and
   carrier-grade NAT: only through 4 or 6.

A connector's ``allowed_hosts``, when it has entries, is checked first: the host must match it.

A host that resolves to several addresses is refused when any of them is, and the caller connects
only to the addresses checked here, so a DNS answer that changes between the check and the
connection (rebinding) cannot lead anywhere unchecked.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from connectors.catalog.base import CONNECTION, ConnectorError
from connectors.egress.addresses import (
    NEVER,
    OPT_IN,
    PRIVATE,
    PUBLIC,
    IPAddress,
    IPNetwork,
    carried_ipv4,
    classify,
    ip_without_scope,
    literal,
    parse_networks,
)
from connectors.egress.names import METADATA_NAMES, BadName, canonical, matches, parse_patterns

DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306, "redis": 6379, "rediss": 6379, "amqp": 5672}


class EgressRefused(ConnectorError):
    """The policy refuses this destination; the message names the host or address and what would allow it."""


class HostNotFound(ConnectorError):
    """The host name does not resolve; a retry policy reads it as a connection failure (DNS may come back)."""

    failure = CONNECTION


@dataclass(frozen=True)
class Endpoint:
    """A service of erpflow itself, which connectors must not reach."""

    ip: IPAddress
    port: int
    what: str

    def covers(self, ip: IPAddress, port: int) -> bool:
        """The same port on the same address, or on any loopback address when the service is on one
        (a server listening on all addresses answers on 127.0.0.2 as well)."""
        if port != self.port:
            return False
        plain, own = ip_without_scope(ip), ip_without_scope(self.ip)
        return plain == own or (plain.is_loopback and own.is_loopback)


@dataclass(frozen=True)
class Policy:
    """The rules for one connector: its type's private default, its allowlists, the installation's."""

    private_default: bool
    allowed_hosts: tuple[str, ...] = ()
    allowed_networks: tuple[IPNetwork, ...] = ()
    installation_networks: tuple[IPNetwork, ...] = ()
    private_networks: tuple[IPNetwork, ...] = ()
    internal: tuple[Endpoint, ...] = ()
    # Whether the connector has an allowed-networks setting, so a refusal can point at it.
    network_setting: bool = False

    @classmethod
    def for_connector(cls, settings: dict, *, private_default: bool) -> Policy:
        """The policy for a connector's resolved settings and the installation's settings.

        ``allowed_hosts`` and ``allowed_networks`` are read when the type has them; a bad line raises
        ConnectorError (the type's ``check`` should have refused it when it was saved).
        """
        hosts, host_problems = parse_patterns(settings.get("allowed_hosts"))
        networks, network_problems = parse_networks(settings.get("allowed_networks"))
        if host_problems:
            raise ConnectorError("Allowed hosts: " + "; ".join(host_problems))
        if network_problems:
            raise ConnectorError("Allowed networks: " + "; ".join(network_problems))
        installation = _installation()
        return cls(
            private_default=private_default,
            allowed_hosts=hosts,
            allowed_networks=networks,
            installation_networks=installation.allowed_networks,
            private_networks=installation.private_networks,
            internal=installation.internal,
            network_setting="allowed_networks" in settings,
        )

    def check_host(self, host: str, port: int) -> list[str]:
        """The addresses of ``host`` a connection may go to, in the resolver's order; EgressRefused if
        the host or any of its addresses is refused, HostNotFound if it does not resolve."""
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise EgressRefused(f"{port!r} is not a TCP port (1 to 65535)")
        ip = literal(host)
        name = None
        if ip is None:
            try:
                name = canonical(host)
            except BadName as exc:
                raise EgressRefused(str(exc)) from None
            ip = literal(name)
        if ip is not None:
            self._check_listed(str(ip_without_scope(ip)), host)
            problem = self.refusal(ip, port)
            if problem:
                raise EgressRefused(f"{ip} {problem}")
            return [connectable(ip)]
        if name in METADATA_NAMES:
            raise EgressRefused(f"{name} is a cloud metadata service; erpflow never connects to it")
        self._check_listed(name, host)
        addresses = resolve(name, port)
        for address in addresses:
            problem = self.refusal(address, port)
            if problem:
                raise EgressRefused(f"{name} resolves to {address}, which {problem}")
        return list(dict.fromkeys(connectable(address) for address in addresses))

    def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why a connection to ``ip``:``port`` is refused (a phrase after the address), or None."""
        carried = carried_ipv4(ip)
        if carried is not None:
            problem = self.refusal(carried, port)
            if problem:
                return f"carries the IPv4 address {carried}, which {problem}"
        kind, what = classify(ip)
        if kind == NEVER:
            return f"is {what}; erpflow never connects to it"
        for endpoint in self.internal:
            if endpoint.covers(ip, port):
                return (
                    f"is erpflow's own {endpoint.what} (port {port}); connectors may reach it only when "
                    "ERPFLOW_EGRESS_ALLOW_INTERNAL lists it"
                )
        if kind == PUBLIC:
            return None
        plain = ip_without_scope(ip)
        if _within(plain, self.installation_networks):
            return None
        if self.private_networks and not _within(plain, self.private_networks):
            return (
                f"is {what} outside the networks this installation allows (ERPFLOW_EGRESS_PRIVATE_NETWORKS); "
                "ask the administrator of erpflow"
            )
        if _within(plain, self.allowed_networks):
            return None
        if kind == PRIVATE and self.private_default:
            return None
        assert kind in (PRIVATE, OPT_IN)
        return f"is {what}; {self._advice()}"

    def _advice(self) -> str:
        if self.network_setting:
            return "allow it in the connector's private networks"
        return "the installation must allow it (ERPFLOW_EGRESS_ALLOWED_NETWORKS)"

    def _check_listed(self, name: str, host: str) -> None:
        if self.allowed_hosts and not matches(name, self.allowed_hosts):
            raise EgressRefused(f"{host} is not in the connector's allowed hosts; an admin can add it there")


def connectable(ip: IPAddress) -> str:
    """The text to connect to: an IPv4-mapped address as plain IPv4, a zone id kept."""
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def resolve(name: str, port: int) -> list[IPAddress]:
    """The addresses the system resolver gives for a name, in its order.

    The one place names are looked up, so tests can stand a resolver double in for DNS.
    """
    try:
        answers = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise HostNotFound(f"the host name '{name}' cannot be resolved ({reason})") from None
    addresses = []
    for _family, _type, _proto, _canon, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0])
        if address.version == 6 and len(sockaddr) > 3 and sockaddr[3] and "%" not in sockaddr[0]:
            address = ipaddress.IPv6Address(f"{sockaddr[0]}%{sockaddr[3]}")
        addresses.append(address)
    if not addresses:
        raise HostNotFound(f"the host name '{name}' has no address")
    return list(dict.fromkeys(addresses))


def connect(host: str, port: int, timeout: float, policy: Policy) -> socket.socket:
    """A TCP connection to the first checked address of ``host`` that answers.

    EgressRefused or HostNotFound before any connection is tried; the last OSError when no address
    answers.
    """
    return open_first(policy.check_host(host, port), port, timeout)[0]


def open_first(addresses: list[str], port: int, timeout: float) -> tuple[socket.socket, str]:
    """A TCP connection to the first of these (already checked) addresses that answers, and that address.

    A timeout ends the attempt: trying the next address would multiply the wait the caller set.
    """
    last: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout=timeout), address
        except TimeoutError:
            raise
        except OSError as exc:
            last = exc
    assert last is not None
    raise last


def _within(ip: IPAddress, networks: tuple[IPNetwork, ...]) -> bool:
    return any(ip.version == network.version and ip in network for network in networks)


@dataclass(frozen=True)
class Installation:
    allowed_networks: tuple[IPNetwork, ...]
    private_networks: tuple[IPNetwork, ...]
    internal: tuple[Endpoint, ...]


def _installation() -> Installation:
    services = tuple(_services(settings))
    return _installation_from(
        tuple(getattr(settings, "ERPFLOW_EGRESS_ALLOWED_NETWORKS", ())),
        tuple(getattr(settings, "ERPFLOW_EGRESS_PRIVATE_NETWORKS", ())),
        tuple(getattr(settings, "ERPFLOW_EGRESS_ALLOW_INTERNAL", ())),
        services,
    )


@functools.lru_cache(maxsize=32)
def _installation_from(
    allowed: tuple[str, ...], private: tuple[str, ...], allow_internal: tuple[str, ...], services: tuple
) -> Installation:
    """Parsed once per distinct configuration: the services' names are resolved here, not per call."""
    allowed_networks, _ = parse_networks("\n".join(allowed))
    private_networks, _ = parse_networks("\n".join(private))
    listed = [endpoint for entry in allow_internal for endpoint in _endpoints(*split_endpoint(entry), "")]
    internal = []
    for host, port, what in services:
        for endpoint in _endpoints(host, port, what):
            if not any(allowed.covers(endpoint.ip, endpoint.port) for allowed in listed):
                internal.append(endpoint)
    return Installation(allowed_networks, private_networks, tuple(internal))


def _services(settings) -> list[tuple[str, int, str]]:
    """(host, port, what) of every server erpflow itself uses."""
    found = []
    for database in settings.DATABASES.values():
        engine = database.get("ENGINE", "")
        scheme = "postgresql" if "postgres" in engine else "mysql" if "mysql" in engine else None
        if scheme is None:
            continue
        host = database.get("HOST") or "localhost"  # empty: a local socket, and usually the same server on TCP
        if host.startswith("/"):
            host = "localhost"
        found.append((host, int(database.get("PORT") or DEFAULT_PORTS[scheme]), "database"))
    for name, what in (("REDIS_URL", "Redis"), ("CELERY_BROKER_URL", "message broker")):
        url = getattr(settings, name, None) or ""
        parts = urlsplit(url)
        if parts.scheme in DEFAULT_PORTS and parts.hostname:
            found.append((parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme], what))
    return found


def split_endpoint(entry: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` as (host, port); ValueError saying what is wrong."""
    parts = urlsplit("//" + entry.strip())
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ValueError(f"'{entry}' is not host:port (for example 127.0.0.1:5432 or [::1]:6379)")
    return parts.hostname, port


def _endpoints(host: str, port: int, what: str) -> list[Endpoint]:
    ip = literal(host)
    if ip is not None:
        return [Endpoint(ip, port, what)]
    try:
        return [Endpoint(address, port, what) for address in resolve(host, port)]
    except HostNotFound:
        return []
