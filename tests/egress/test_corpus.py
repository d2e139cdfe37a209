"""The SSRF corpus: spellings of internal, loopback and metadata destinations, sent the ways a connector
connects (an HTTP request through ``GuardedTransport``, a plain TCP ``connect``, a database connection
test). Every one must be refused by the policy, and the canary listening on the loopback port the
vectors aim at must see no connection at all.
"""

from __future__ import annotations

import time

import httpx
import pytest

from connectors import catalog
from connectors.egress import EgressRefused, GuardedTransport, Policy, connect

# (host as it appears in a URL, what it is). Each aims at the canary's port.
VECTORS = [
    ("127.0.0.1", "loopback"),
    ("127.1", "loopback, short form"),
    ("127.0.1", "loopback, three parts"),
    ("2130706433", "loopback, one decimal number"),
    ("0x7f000001", "loopback, one hex number"),
    ("0x7f.0.0.1", "loopback, hex first part"),
    ("0x7f.1", "loopback, hex short form"),
    ("0177.1", "loopback, octal short form"),
    ("017700000001", "loopback, one octal number"),
    ("127.0.0.1.", "loopback, trailing dot"),
    ("127.127.127.127", "loopback, elsewhere in 127/8"),
    ("localhost", "a name for loopback"),
    ("LOCALHOST.", "a name for loopback, upper case, trailing dot"),
    ("[::1]", "IPv6 loopback"),
    ("[0:0:0:0:0:0:0:1]", "IPv6 loopback, long form"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped loopback"),
    ("[::ffff:7f00:1]", "IPv4-mapped loopback, hex"),
    ("[0:0:0:0:0:ffff:127.0.0.1]", "IPv4-mapped loopback, long form"),
    ("[::127.0.0.1]", "IPv4-compatible loopback"),
    ("[64:ff9b::127.0.0.1]", "NAT64 loopback"),
    ("[2002:7f00:1::]", "6to4 loopback"),
    ("0.0.0.0", "this host"),  # noqa: S104 - a destination to refuse, not a bind
    ("0", "this host, one number"),
    ("0x0", "this host, hex"),
    ("[::]", "IPv6 unspecified"),
    ("169.254.169.254", "cloud metadata"),
    ("2852039166", "cloud metadata, decimal"),
    ("0xa9fea9fe", "cloud metadata, hex"),
    ("[::ffff:a9fe:a9fe]", "cloud metadata, IPv4-mapped hex"),
    ("169.254.43518", "cloud metadata, short form"),
    ("[::ffff:169.254.169.254]", "cloud metadata, IPv4-mapped"),
    ("[fd00:ec2::254]", "AWS metadata over IPv6"),
    ("100.100.100.200", "Alibaba Cloud metadata"),
    ("metadata.google.internal", "GCP metadata by name"),
    ("Metadata.Google.Internal.", "GCP metadata by name, mixed case, trailing dot"),
    ("169.254.0.1", "link-local"),
    ("[fe80::1]", "IPv6 link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("10.0.0.5", "private, refused for HTTP by default"),
    ("172.16.0.1", "private"),
    ("192.168.1.1", "private"),
    ("[fc00::1]", "IPv6 unique local"),
    ("224.0.0.1", "multicast"),
    ("[ff02::1]", "IPv6 multicast"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
]
# Spellings httpx's URL parser already rejects (or cannot carry); the policy must refuse them too.
RAW_ONLY = [
    ("0177.0.0.1", "loopback, octal first part"),
    ("0251.0376.0251.0376", "cloud metadata, octal"),
    ("\uff11\uff12\uff17.\uff10.\uff10.\uff11", "loopback in fullwidth digits"),
    ("fe80::1%lo", "IPv6 link-local with a zone id"),
    ("fe80::1%25lo", "IPv6 link-local with a URL-encoded zone id"),
    ("127.0.0.1\t", "loopback with a tab"),
    ("", "empty"),
]
IDS = [what for _, what in VECTORS]


def http_policy() -> Policy:
    """An HTTP connector's policy with empty allowlists (the type's fields present, nothing listed)."""
    return Policy.for_connector({"allowed_hosts": "", "allowed_networks": ""}, private_default=False)


def bare(host: str) -> str:
    return host[1:-1] if host.startswith("[") else host


def test_the_corpus_holds_at_least_forty_vectors():
    assert len(VECTORS) + len(RAW_ONLY) >= 40
    assert len({host for host, _ in VECTORS + RAW_ONLY}) == len(VECTORS) + len(RAW_ONLY)


@pytest.mark.parametrize(("host", "what"), VECTORS, ids=IDS)
def test_an_http_request_to_it_is_refused_and_the_canary_sees_nothing(canary, host, what):
    with (
        httpx.Client(transport=GuardedTransport(http_policy()), trust_env=False) as client,
        pytest.raises(EgressRefused) as refused,
    ):
        client.get(f"http://{host}:{canary.port}/")
    assert str(refused.value)
    assert canary.connections == 0


@pytest.mark.parametrize(("host", "what"), VECTORS + RAW_ONLY, ids=IDS + [w for _, w in RAW_ONLY])
def test_a_plain_tcp_connection_to_it_is_refused_and_the_canary_sees_nothing(canary, host, what):
    with pytest.raises(EgressRefused):
        connect(bare(host), canary.port, 2.0, http_policy())
    assert canary.connections == 0


LOOPBACK = [(host, what) for host, what in VECTORS + RAW_ONLY if "loopback" in what or "this host" in what]


@pytest.mark.parametrize("type_key", ["postgres", "mysql"])
@pytest.mark.parametrize(("host", "what"), LOOPBACK, ids=[what for _, what in LOOPBACK])
def test_a_database_connection_test_stops_at_resolve_host_and_the_canary_sees_nothing(canary, type_key, host, what):
    answer = catalog.connector_type(type_key).test(
        {
            "host": bare(host),
            "port": canary.port,
            "database": "erp",
            "username": "integration",
            "password": "secret",
            "connect_timeout": 2,
        }
    )
    assert not answer.ok
    assert [(stage.name, stage.ok) for stage in answer.stages] == [("resolve host", False)]
    assert canary.connections == 0


def test_the_canary_does_count_a_connection_the_policy_allows(canary):
    """The zero counts above mean something: an allowed connection to the same port is seen."""
    allowed = Policy.for_connector({"allowed_networks": "127.0.0.1/32"}, private_default=False)
    connect("127.0.0.1", canary.port, 2.0, allowed).close()
    http = httpx.Client(transport=GuardedTransport(allowed), trust_env=False)
    with http, pytest.raises(httpx.HTTPError):  # the canary hangs up without answering
        http.get(f"http://127.0.0.1:{canary.port}/")
    waited_until = time.monotonic() + 2
    while canary.connections < 2 and time.monotonic() < waited_until:
        time.sleep(0.01)
    assert canary.connections == 2
