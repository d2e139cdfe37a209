"""What an IP address is, for the egress policy: its range, and the IPv4 address an IPv6 one carries.

The ranges are listed here rather than taken from ``ipaddress``'s ``is_private`` and friends, whose
answers change between Python versions; the policy must not change with the interpreter.

Host text is parsed the way the C library does before any name lookup, so ``2130706433``,
``0177.0.0.1``, ``0x7f.1`` and ``127.1`` are all 127.0.0.1 here too, and no spelling of an address
slips past as a "name".
"""

from __future__ import annotations

import ipaddress
import re

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# What a range is, from the policy's point of view.
NEVER = "never"  # refused whatever any allowlist says
OPT_IN = "opt-in"  # refused unless a network allowlist names it
PRIVATE = "private"  # allowed or not by the connector type's default, restrictable installation-wide
PUBLIC = "public"


def _table(*rows: tuple[str, str, str]) -> tuple[tuple[IPNetwork, str, str], ...]:
    return tuple((ipaddress.ip_network(cidr), kind, what) for cidr, kind, what in rows)


METADATA = "a cloud metadata address"

# Most specific first: the first row containing an address decides.
RANGES = _table(
    ("169.254.169.254/32", NEVER, METADATA),
    ("169.254.169.253/32", NEVER, METADATA),  # AWS VPC DNS and metadata helpers
    ("169.254.169.123/32", NEVER, METADATA),
    ("169.254.170.2/32", NEVER, METADATA),  # ECS task credentials
    ("169.254.170.23/32", NEVER, METADATA),  # EKS pod identity
    ("100.100.100.200/32", NEVER, METADATA),  # Alibaba Cloud
    ("168.63.129.16/32", NEVER, METADATA),  # Azure WireServer
    ("fd00:ec2::254/128", NEVER, METADATA),
    ("fd00:ec2::23/128", NEVER, METADATA),
    ("0.0.0.0/8", NEVER, 'in 0.0.0.0/8 ("this network"), which names no remote host'),
    ("255.255.255.255/32", NEVER, "the broadcast address"),
    ("224.0.0.0/4", NEVER, "a multicast address"),
    ("240.0.0.0/4", NEVER, "a reserved address"),
    ("192.0.0.0/24", NEVER, "reserved for protocol assignments"),
    ("192.0.2.0/24", NEVER, "a documentation address"),
    ("198.51.100.0/24", NEVER, "a documentation address"),
    ("203.0.113.0/24", NEVER, "a documentation address"),
    ("198.18.0.0/15", NEVER, "reserved for benchmarking"),
    ("::/128", NEVER, "the unspecified address"),
    ("ff00::/8", NEVER, "a multicast address"),
    ("100::/64", NEVER, "a discard-only address"),
    ("2001:db8::/32", NEVER, "a documentation address"),
    ("127.0.0.0/8", OPT_IN, "a loopback address"),
    ("::1/128", OPT_IN, "a loopback address"),
    ("169.254.0.0/16", OPT_IN, "a link-local address"),
    ("fe80::/10", OPT_IN, "a link-local address"),
    ("100.64.0.0/10", OPT_IN, "a carrier-grade NAT address"),
    ("10.0.0.0/8", PRIVATE, "a private address"),
    ("172.16.0.0/12", PRIVATE, "a private address"),
    ("192.168.0.0/16", PRIVATE, "a private address"),
    ("fc00::/7", PRIVATE, "a private address"),
    ("fec0::/10", PRIVATE, "a private address"),
)

NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")

_DECIMAL = re.compile(r"[1-9][0-9]*|0")
_OCTAL = re.compile(r"0[0-7]+")
_HEX = re.compile(r"0[xX][0-9a-fA-F]+")


def classify(ip: IPAddress) -> tuple[str, str]:
    """(kind, what it is in words) for one address; kind is NEVER, OPT_IN, PRIVATE or PUBLIC."""
    plain = ip_without_scope(ip)
    for network, kind, what in RANGES:
        if plain.version == network.version and plain in network:
            return kind, what
    return PUBLIC, "a public address"


def carried_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, compatible, NAT64, 6to4, Teredo), if any.

    A connection to such an address ends at the IPv4 host it carries (the kernel, a NAT64 gateway or
    a relay translates), so that host is what the policy must judge.
    """
    if ip.version != 6:
        return None
    plain = ip_without_scope(ip)
    if plain.ipv4_mapped is not None:
        return plain.ipv4_mapped
    if plain in NAT64 or (plain in IPV4_COMPATIBLE and int(plain) > 1):
        return ipaddress.IPv4Address(int(plain) & 0xFFFFFFFF)
    if plain.sixtofour is not None:
        return plain.sixtofour
    if plain.teredo is not None:
        return plain.teredo[1]
    return None


def ip_without_scope(ip: IPAddress) -> IPAddress:
    """The address without an IPv6 zone id (``fe80::1%eth0``): ranges never contain scoped addresses."""
    if ip.version == 6 and ip.scope_id:
        return ipaddress.IPv6Address(int(ip))
    return ip


def literal(host: str) -> IPAddress | None:
    """The address a host text spells, in any form the C library accepts, or None for a name.

    Brackets (``[::1]``), zone ids (``fe80::1%eth0``, also URL-encoded as ``%25``) and a trailing dot
    are accepted.
    """
    text = host
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        text = text.replace("%25", "%", 1)
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            return None
    return legacy_ipv4(text[:-1] if text.endswith(".") else text)


def legacy_ipv4(text: str) -> ipaddress.IPv4Address | None:
    """IPv4 as ``inet_aton`` reads it: one to four parts, each decimal, octal (leading 0) or hex (0x);
    the last part fills the remaining bytes (``127.1`` is 127.0.0.1, ``2130706433`` too)."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        if _HEX.fullmatch(part):
            values.append(int(part[2:], 16))
        elif _OCTAL.fullmatch(part):
            values.append(int(part, 8))
        elif _DECIMAL.fullmatch(part):
            values.append(int(part))
        else:
            return None
    *leading, last = values
    if any(value > 255 for value in leading) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for index, value in enumerate(leading):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def parse_networks(text: str | None) -> tuple[tuple[IPNetwork, ...], list[str]]:
    """CIDR ranges one per line (blank lines and ``#`` comments skipped), and a message per bad line."""
    networks, problems = [], []
    for number, line in enumerate((text or "").splitlines(), start=1):
        entry = line.split("#", 1)[0].strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            problems.append(f"line {number}: '{entry}' is not an IP address or a CIDR range such as 10.20.0.0/16")
    return tuple(networks), problems
