"""Connection pools on the real MariaDB server, counted from the server's side (the processlist).

Each test signs in as a MariaDB user of its own (``mysql_account``), so the processlist rows of
that user are exactly the connections of the pool under test.
"""

from __future__ import annotations

import threading
import time

import pytest

from accounts.models import Environment
from connectors import pool_stats, pools, runtime
from connectors.catalog.base import ConnectorError, Deadline, PoolExhausted, StepTimeout
from connectors.models import Connector
from tests.connectors.conftest import closed_port, under_load
from tests.flows.workers import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def sandbox(org):
    return Environment.objects.get(organization=org, slug="sandbox")


def processlist(admin, user: str, *, running: str | None = None) -> list[int]:
    query = "SELECT id FROM information_schema.processlist WHERE user = %s"
    params = [user]
    if running:
        query += " AND info LIKE %s"
        params.append(f"%{running}%")
    with admin.cursor() as cursor:
        cursor.execute(query, params)
        return [row[0] for row in cursor.fetchall()]


def call(connector, environment, sql: str, timeout_ms: int = 5000, params=None):
    return runtime.call(connector, environment, sql, params or {}, Deadline(timeout_ms))


def test_the_minimum_idle_connections_are_open_on_the_server(database_connector, mysql_account, sandbox):
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 3, "max_pool": 6}, [sandbox])
    pools.get(connector, sandbox)
    wait_until(lambda: len(processlist(admin, account["username"])) == 3, 10, message="3 open connections")
    time.sleep(0.5)
    assert len(processlist(admin, account["username"])) == 3
    assert call(connector, sandbox, "SELECT %(p1)s AS echoed, 'it''s 100%%' AS lit", params={"p1": "a'b"}) == {
        "rows": [{"echoed": "a'b", "lit": "it's 100%"}],
        "rowcount": 1,
    }
    assert len(processlist(admin, account["username"])) == 3, "the call used an idle connection"


def test_concurrency_never_exceeds_the_maximum_pool_size_under_load(database_connector, mysql_account, sandbox):
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 1, "max_pool": 3}, [sandbox])
    pools.get(connector, sandbox)

    def work():
        for _ in range(4):
            call(connector, sandbox, "SELECT SLEEP(0.05)", timeout_ms=20000)

    peak, errors = under_load(work, threads=10, sample=lambda: len(processlist(admin, account["username"])))

    assert errors == []
    assert peak == 3
    stats = pool_stats.stats(connector, sandbox)
    assert stats["opened"] == 3 and stats["max_size"] == 3


def test_idle_connections_above_the_minimum_close_after_the_idle_timeout(database_connector, mysql_account, sandbox):
    account, admin = mysql_account
    connector = database_connector(
        "mysql", {**account, "min_idle": 1, "max_pool": 4, "idle_timeout_ms": 1000}, [sandbox]
    )
    pools.get(connector, sandbox)
    barrier = threading.Barrier(4)

    def busy():
        barrier.wait()
        call(connector, sandbox, "SELECT SLEEP(0.3)")

    threads = [threading.Thread(target=busy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(processlist(admin, account["username"])) == 4

    wait_until(lambda: len(processlist(admin, account["username"])) == 1, 20, message="the pool to shrink")
    stats = pool_stats.stats(connector, sandbox)
    assert (stats["size"], stats["idle"], stats["closed"]) == (1, 1, 3)


def test_a_killed_server_connection_is_replaced_without_failing_a_call(
    database_connector, mysql_account, sandbox, monkeypatch
):
    monkeypatch.setattr("connectors.simplepool.CHECK_AFTER", 0.0)  # every idle connection is checked before it is lent
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 2, "max_pool": 2}, [sandbox])
    pools.get(connector, sandbox)
    wait_until(lambda: len(processlist(admin, account["username"])) == 2, 10, message="2 connections")
    killed = set(processlist(admin, account["username"]))
    with admin.cursor() as cursor:
        for thread_id in killed:
            cursor.execute("KILL %s", [thread_id])

    answers = [call(connector, sandbox, "SELECT CONNECTION_ID() AS id")["rows"][0]["id"] for _ in range(4)]

    assert not set(answers) & killed
    assert pool_stats.stats(connector, sandbox)["closed"] >= 2


def test_an_edited_connector_gets_a_fresh_pool_and_the_old_one_is_drained(database_connector, mysql_account, sandbox):
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 2, "max_pool": 3}, [sandbox])
    first = pools.get(connector, sandbox)
    wait_until(lambda: len(processlist(admin, account["username"])) == 2, 10, message="the first pool")
    old_ids = set(processlist(admin, account["username"]))

    Connector.objects.filter(pk=connector.pk).update(revision=connector.revision + 1)
    edited = Connector.objects.get(pk=connector.pk)
    used = call(edited, sandbox, "SELECT CONNECTION_ID() AS id")["rows"][0]["id"]

    assert pools.get(edited, sandbox) is not first
    assert used not in old_ids
    wait_until(lambda: not set(processlist(admin, account["username"])) & old_ids, 10, message="the old pool to drain")


def test_an_exhausted_pool_says_so_at_the_deadline(database_connector, mysql_account, sandbox):
    account, _ = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 0, "max_pool": 1}, [sandbox])
    pools.get(connector, sandbox)
    holder = threading.Thread(target=call, args=(connector, sandbox, "SELECT SLEEP(1.5)"))
    holder.start()
    wait_until(lambda: pool_stats.stats(connector, sandbox)["in_use"] == 1, 10, message="the connection in use")
    with pytest.raises(PoolExhausted, match=r"^pool exhausted: 1 of 1 in use after \d+ ms$"):
        call(connector, sandbox, "SELECT 1", timeout_ms=300)
    holder.join()


@pytest.mark.parametrize("flavour", ["mariadb", "mysql"])
def test_a_statement_over_the_deadline_is_stopped_on_the_server(
    database_connector, mysql_account, sandbox, monkeypatch, flavour
):
    """MariaDB stops it itself (max_statement_time); MySQL has no ``SET STATEMENT ... FOR``, so a
    second connection sends ``KILL QUERY``: this server is treated as MySQL to run that path."""
    if flavour == "mysql":
        from connectors.catalog.mysql import MySQLType

        connect = MySQLType.connect

        def as_mysql(self, *args, **kwargs):
            conn = connect(self, *args, **kwargs)
            conn.erpflow_mariadb = False
            return conn

        monkeypatch.setattr(MySQLType, "connect", as_mysql)
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 1}, [sandbox])
    marker = f"erpflow-timeout-{time.time_ns()}"
    began = time.monotonic()
    with pytest.raises(StepTimeout, match="the server stopped it"):
        call(connector, sandbox, f"SELECT SLEEP(30) /* {marker} */", timeout_ms=2000)
    elapsed = time.monotonic() - began
    assert elapsed >= 1.9, "it ran until its timeout"
    assert processlist(admin, account["username"], running=marker) == []
    assert call(connector, sandbox, "SELECT 1 AS one")["rows"] == [{"one": 1}], "the connection is still usable"


def test_a_write_reports_its_rowcount(database_connector, mysql_account, sandbox):
    account, admin = mysql_account
    connector = database_connector("mysql", {**account, "min_idle": 0}, [sandbox])
    table = f"t_{time.time_ns()}"
    call(connector, sandbox, f"CREATE TABLE {table} (id int, note text)")
    try:
        inserted = call(
            connector,
            sandbox,
            f"INSERT INTO {table} VALUES (%(p1)s, %(p2)s), (%(p1)s, %(p2)s)",
            params={"p1": 1, "p2": "x"},
        )
        assert inserted == {"rows": [], "rowcount": 2}
    finally:
        call(connector, sandbox, f"DROP TABLE {table}")


def test_a_server_that_cannot_be_reached_fails_the_call_with_the_reason(database_connector, mysql_account, sandbox):
    account, _ = mysql_account
    port = closed_port()
    connector = database_connector("mysql", {**account, "port": port, "min_idle": 0}, [sandbox])
    with pytest.raises(ConnectorError, match=r"^no connection could be opened: .*Can't connect"):
        call(connector, sandbox, "SELECT 1", timeout_ms=1000)
    wrong = database_connector("mysql", {**account, "password": "not-it", "min_idle": 0}, [sandbox])
    with pytest.raises(ConnectorError) as refused:
        call(wrong, sandbox, "SELECT 1", timeout_ms=1000)
    assert str(refused.value) == (
        f"no connection could be opened: authentication failed for user '{account['username']}': "
        "check Username and Password"
    )
