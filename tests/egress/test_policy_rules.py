"""The rules of the policy and the installation's variables, one behaviour per test."""

from __future__ import annotations

import pytest

from connectors.catalog.base import ConnectorError
from connectors.egress import EgressRefused, HostNotFound, Policy


def database_policy(**settings) -> Policy:
    return Policy.for_connector(settings, private_default=True)


def http_policy(hosts: str = "", networks: str = "") -> Policy:
    return Policy.for_connector({"allowed_hosts": hosts, "allowed_networks": networks}, private_default=False)


def refusal(policy: Policy, host: str, port: int = 443) -> str:
    with pytest.raises(EgressRefused) as refused:
        policy.check_host(host, port)
    return str(refused.value)


def test_private_ranges_are_allowed_for_databases_and_refused_for_http_unless_listed():
    assert database_policy().check_host("10.0.0.5", 5432) == ["10.0.0.5"]
    assert refusal(http_policy(), "10.0.0.5") == (
        "10.0.0.5 is a private address; allow it in the connector's private networks"
    )
    assert http_policy(networks="10.0.0.0/24").check_host("10.0.0.5", 443) == ["10.0.0.5"]
    assert "10.0.1.5 is a private address" in refusal(http_policy(networks="10.0.0.0/24"), "10.0.1.5")


def test_loopback_is_refused_for_databases_unless_the_installation_allows_it(settings):
    message = refusal(database_policy(), "127.0.0.1", 3306)
    assert message == (
        "127.0.0.1 is a loopback address; the installation must allow it (ERPFLOW_EGRESS_ALLOWED_NETWORKS)"
    )
    settings.ERPFLOW_EGRESS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert database_policy().check_host("127.0.0.1", 3306) == ["127.0.0.1"]


def test_metadata_is_refused_even_when_every_network_is_allowed(settings):
    settings.ERPFLOW_EGRESS_ALLOWED_NETWORKS = ["0.0.0.0/0", "::/0"]
    everything = http_policy(networks="0.0.0.0/0\n::/0")
    never = ("169.254.169.254", "[fd00:ec2::254]", "100.100.100.200", "metadata.google.internal", "0.0.0.0")  # noqa: S104
    for host in never:
        assert "erpflow never connects to it" in refusal(everything, host, 80)
    assert everything.check_host("169.254.1.1", 80) == ["169.254.1.1"]  # other link-local addresses: allowed


def test_erpflow_s_own_redis_and_broker_are_refused_unless_listed(settings):
    """(Its own database: see test_database_connectors, on the real one.)"""
    settings.REDIS_URL = "redis://10.9.8.6:6380/0"
    settings.CELERY_BROKER_URL = "amqp://guest@10.9.8.7/"
    assert "10.9.8.6 is erpflow's own Redis (port 6380)" in refusal(database_policy(), "10.9.8.6", 6380)
    assert "10.9.8.7 is erpflow's own message broker (port 5672)" in refusal(database_policy(), "10.9.8.7", 5672)
    assert database_policy().check_host("10.9.8.6", 6379) == ["10.9.8.6"]  # another port of that host
    settings.ERPFLOW_EGRESS_ALLOW_INTERNAL = ["10.9.8.6:6380"]
    assert database_policy().check_host("10.9.8.6", 6380) == ["10.9.8.6"]
    assert "own message broker" in refusal(database_policy(), "10.9.8.7", 5672)


def test_an_own_service_on_loopback_is_refused_on_every_loopback_address(settings):
    settings.ERPFLOW_EGRESS_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.REDIS_URL = "redis://localhost:6379/0"
    for host in ("127.0.0.1", "127.0.0.2", "[::1]", "localhost"):
        assert "erpflow's own Redis" in refusal(database_policy(), host, 6379)


def test_the_installation_can_restrict_private_ranges_to_listed_networks(settings):
    settings.ERPFLOW_EGRESS_PRIVATE_NETWORKS = ["10.20.0.0/16"]
    assert database_policy().check_host("10.20.3.4", 1521) == ["10.20.3.4"]
    message = refusal(database_policy(), "10.30.3.4", 1521)
    assert "outside the networks this installation allows (ERPFLOW_EGRESS_PRIVATE_NETWORKS)" in message
    # A connector's own allowlist cannot widen what the installation restricts; public stays allowed.
    assert "outside the networks" in refusal(http_policy(networks="10.30.0.0/16"), "10.30.3.4")
    assert database_policy().check_host("93.184.215.14", 1521) == ["93.184.215.14"]


def test_allowed_hosts_accept_exact_names_and_wildcards_below_a_domain(resolver):
    for name in ("erp.example.com", "a.erp.example.com", "a.b.erp.example.com", "other.example.com"):
        resolver.add(name, ["93.184.215.14"])
    policy = http_policy(hosts="*.erp.example.com\nother.example.com\n# a comment")
    assert policy.check_host("A.B.ERP.example.com.", 443) == ["93.184.215.14"]
    assert policy.check_host("other.example.com", 443) == ["93.184.215.14"]
    assert "erp.example.com is not in the connector's allowed hosts" in refusal(policy, "erp.example.com")
    assert "93.184.215.14 is not in the connector's allowed hosts" in refusal(policy, "93.184.215.14")


def test_international_names_are_compared_in_their_ascii_form(resolver):
    resolver.add("xn--bcher-kva.example", ["93.184.215.14"])
    policy = http_policy(hosts="bücher.example")
    assert policy.check_host("BÜCHER.example", 443) == ["93.184.215.14"]
    assert policy.allowed_hosts == ("xn--bcher-kva.example",)


@pytest.mark.parametrize(
    ("hosts", "networks", "words"),
    [
        ("*.com", "", "Allowed hosts: line 1: '*.com' is too wide"),
        ("api.example.com\nex*ample.com", "", "Allowed hosts: line 2: 'ex*ample.com' may use '*' only"),
        ("bad host", "", "Allowed hosts: line 1: 'bad host' is not a valid host name"),
        ("", "10.0.0.0/8\n10.0.0.300/32", "Allowed networks: line 2: '10.0.0.300/32' is not an IP address"),
    ],
)
def test_a_bad_allowlist_line_is_named_with_its_line(hosts, networks, words):
    with pytest.raises(ConnectorError) as bad:
        http_policy(hosts=hosts, networks=networks)
    assert words in str(bad.value)


def test_a_name_that_does_not_resolve_is_not_found_rather_than_refused():
    with pytest.raises(HostNotFound) as missing:
        database_policy().check_host("no-such-host.invalid", 5432)
    assert "'no-such-host.invalid' cannot be resolved" in str(missing.value)
    assert not isinstance(missing.value, EgressRefused)


@pytest.mark.parametrize("port", [0, 65536, -1, "80", True])
def test_a_port_outside_tcp_s_range_is_refused(port):
    with pytest.raises(EgressRefused):
        database_policy().check_host("10.0.0.5", port)


def test_a_bad_installation_variable_stops_start_up_with_its_name():
    import subprocess
    import sys

    for name, value in (
        ("ERPFLOW_EGRESS_PRIVATE_NETWORKS", "10.0.0.0/8,nonsense"),
        ("ERPFLOW_EGRESS_ALLOW_INTERNAL", "127.0.0.1"),
    ):
        run = subprocess.run(
            [sys.executable, "-c", "import django; django.setup()"],
            env={"DJANGO_SETTINGS_MODULE": "config.settings", name: value, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
        )
        assert run.returncode != 0
        assert f"ImproperlyConfigured: {name}:" in run.stderr
