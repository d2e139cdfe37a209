"""The policy on the database connectors: connection tests, pool opening and every new pooled
connection go through it, and the drivers connect to the checked address, not to the name.

The servers are the machine's real PostgreSQL (also erpflow's own database) and MariaDB on
127.0.0.1; each test sets the installation variables it needs, as an operator would.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from connectors import catalog, values
from connectors.catalog.base import Deadline, StepTimeout
from connectors.egress import EgressRefused

STAGES = ["resolve host", "open TCP", "authenticate", "trivial statement", "owner and role"]


def resolved(type_key: str, settings: dict) -> dict:
    kind = catalog.type_class(type_key)
    return values.resolve(kind, values.clean(kind, settings), None)


@pytest.fixture
def pg(postgres_url) -> dict:
    parts = urlsplit(postgres_url)
    return {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "username": parts.username or "postgres",
        "connect_timeout": 3,
    }


@pytest.fixture
def maria(mysql_url) -> dict:
    parts = urlsplit(mysql_url)
    return {
        "host": parts.hostname,
        "port": parts.port or 3306,
        "database": parts.path.lstrip("/"),
        "username": parts.username or "root",
        "connect_timeout": 3,
    }


@pytest.fixture
def loopback_allowed(settings):
    settings.ERPFLOW_EGRESS_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    return settings


def test_erpflow_s_own_database_cannot_be_tested_unless_the_installation_lists_it(pg, loopback_allowed):
    answer = catalog.connector_type("postgres").test(resolved("postgres", pg))
    assert [(stage.name, stage.ok) for stage in answer.stages] == [("resolve host", False)]
    assert f"127.0.0.1 is erpflow's own database (port {pg['port']})" in answer.message
    loopback_allowed.ERPFLOW_EGRESS_ALLOW_INTERNAL = [f"127.0.0.1:{pg['port']}"]
    allowed = catalog.connector_type("postgres").test(resolved("postgres", pg))
    assert allowed.ok, allowed.message


def test_postgres_connects_to_the_checked_address_and_keeps_the_name(pg, loopback_allowed, resolver):
    """warehouse.erp.test exists only in the resolver double: libpq could not look it up itself, so a
    connection that works went to hostaddr, the address the policy checked."""
    loopback_allowed.ERPFLOW_EGRESS_ALLOW_INTERNAL = [f"127.0.0.1:{pg['port']}"]
    resolver.add("warehouse.erp.test", ["127.0.0.1"])
    settings = resolved("postgres", {**pg, "host": "warehouse.erp.test"})
    answer = catalog.connector_type("postgres").test(settings)
    assert answer.ok, answer.message
    assert [stage.name for stage in answer.stages] == STAGES
    conn = catalog.connector_type("postgres").connect(settings, timeout=3, name="egress-test")
    try:
        assert (conn.info.host, conn.info.hostaddr) == ("warehouse.erp.test", "127.0.0.1")
        assert conn.execute("SELECT host(inet_server_addr())").fetchone() == ("127.0.0.1",)
    finally:
        conn.close()


def test_a_postgres_pool_refuses_at_once_and_checks_every_new_connection(pg, loopback_allowed, resolver):
    loopback_allowed.ERPFLOW_EGRESS_ALLOW_INTERNAL = [f"127.0.0.1:{pg['port']}"]
    kind = catalog.connector_type("postgres")
    with pytest.raises(EgressRefused, match="169.254.169.254 is a cloud metadata address"):
        kind.open(resolved("postgres", {**pg, "host": "169.254.169.254", "min_idle": 0}))
    # A rebinding name: allowed for the pool's check and its first connection, metadata afterwards.
    resolver.add("rebind.erp.test", ["127.0.0.1"], ["127.0.0.1"], ["169.254.169.254"])
    pool = kind.open(resolved("postgres", {**pg, "host": "rebind.erp.test", "min_idle": 0, "max_pool": 2}))
    try:
        with pool.connection(Deadline(5000)) as first:
            assert first.execute("SELECT 1").fetchone() == (1,)
            with pytest.raises(StepTimeout) as refused, pool.connection(Deadline(1500)):
                pass
        assert "rebind.erp.test resolves to 169.254.169.254, which is a cloud metadata address" in str(refused.value)
    finally:
        pool.close()


def test_mariadb_connects_to_the_checked_address(maria, loopback_allowed, resolver):
    resolver.add("erp-db.erp.test", ["127.0.0.1"])
    settings = resolved("mysql", {**maria, "host": "erp-db.erp.test", "min_idle": 0})
    answer = catalog.connector_type("mysql").test(settings)
    assert answer.ok, answer.message
    pool = catalog.connector_type("mysql").open(settings)
    try:
        with pool.connection(Deadline(5000)) as conn:
            assert conn.host == "127.0.0.1"
    finally:
        pool.close()


def test_mariadb_on_loopback_is_refused_by_an_installation_that_does_not_allow_it(maria):
    answer = catalog.connector_type("mysql").test(resolved("mysql", maria))
    assert [(stage.name, stage.ok) for stage in answer.stages] == [("resolve host", False)]
    assert "127.0.0.1 is a loopback address; the installation must allow it" in answer.message
    with pytest.raises(EgressRefused):
        catalog.connector_type("mysql").open(resolved("mysql", maria))


def test_a_private_network_outside_the_installation_s_list_is_not_probed(pg, settings):
    settings.ERPFLOW_EGRESS_PRIVATE_NETWORKS = ["10.20.0.0/16"]
    answer = catalog.connector_type("postgres").test(resolved("postgres", {**pg, "host": "192.168.77.1"}))
    assert [(stage.name, stage.ok) for stage in answer.stages] == [("resolve host", False)]
    assert "outside the networks this installation allows" in answer.message


def test_oracle_connects_to_the_checked_address_over_tcp_and_keeps_the_name_for_tcps():
    oracle = catalog.connector_type("oracle")
    base = {"host": "ora.erp.test", "port": 1521, "database": "ERPPDB", "username": "integration"}
    plain = oracle.pool_params(resolved("oracle", base), "10.1.2.3")
    assert plain["host"] == "10.1.2.3"
    tls = oracle.pool_params(resolved("oracle", {**base, "ssl_mode": "require"}), "10.1.2.3")
    assert (tls["host"], tls["protocol"]) == ("ora.erp.test", "tcps")
