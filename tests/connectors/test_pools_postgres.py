"""Connection pools on the real PostgreSQL server, counted from the server's side (pg_stat_activity).

Every pool marks its connections with an application_name naming the connector, the environment
and the revision, so the server can be asked how many connections each pool really holds.
"""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest

from connectors import pool_stats, pools, runtime
from connectors.catalog.base import Deadline, PoolExhausted, StepTimeout
from connectors.models import Connector
from tests.connectors.conftest import closed_port, under_load
from tests.flows.workers import wait_until

pytestmark = pytest.mark.django_db


@pytest.fixture
def observer(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        yield conn


def server_connections(observer, connector, environment, *, state: str | None = None) -> list[int]:
    name = pools.application_name(connector.pk, environment.pk, connector.revision)
    query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s"
    params = [name]
    if state:
        query += " AND state = %s"
        params.append(state)
    return [row[0] for row in observer.execute(query, params).fetchall()]


def call(connector, environment, sql: str, timeout_ms: int = 5000):
    return runtime.call(connector, environment, sql, {}, Deadline(timeout_ms))


def test_the_minimum_idle_connections_are_open_on_the_server(database_connector, pg_settings, sandbox, observer):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 3, "max_pool": 6}, [sandbox])
    pools.get(connector, sandbox)  # opens the pool without borrowing (a borrow while it fills may add one)
    wait_until(lambda: len(server_connections(observer, connector, sandbox)) == 3, 10, message="3 open connections")
    time.sleep(0.5)
    assert len(server_connections(observer, connector, sandbox)) == 3, "no more than needed were opened"
    stats = pool_stats.stats(connector, sandbox)
    assert (stats["size"], stats["in_use"], stats["min_idle"], stats["max_size"]) == (3, 0, 3, 6)


def test_concurrency_never_exceeds_the_maximum_pool_size_under_load(database_connector, pg_settings, sandbox, observer):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 4}, [sandbox])
    call(connector, sandbox, "SELECT 1")  # opens the pool here: other threads cannot see this test's rows
    sizes: list[int] = []

    def sample() -> int:
        sizes.append(pool_stats.stats(connector, sandbox)["size"])
        return len(server_connections(observer, connector, sandbox))

    def work():
        for _ in range(5):
            call(connector, sandbox, "SELECT pg_sleep(0.05)", timeout_ms=20000)

    peak_on_server, errors = under_load(work, threads=12, sample=sample)
    peak_in_pool = max(sizes)

    assert errors == []
    assert peak_on_server == 4, "the pool grew to its maximum under load, and no further"
    assert peak_in_pool == 4
    assert pool_stats.stats(connector, sandbox)["opened"] <= 4, "connections were reused, not opened per call"


def test_idle_connections_above_the_minimum_close_after_the_idle_timeout(
    database_connector, pg_settings, sandbox, observer
):
    connector = database_connector(
        "postgres", {**pg_settings, "min_idle": 1, "max_pool": 4, "idle_timeout_ms": 1000}, [sandbox]
    )
    call(connector, sandbox, "SELECT 1")  # opens the pool here: other threads cannot see this test's rows
    barrier = threading.Barrier(4)

    def busy():
        barrier.wait()
        call(connector, sandbox, "SELECT pg_sleep(0.3)")

    threads = [threading.Thread(target=busy) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(server_connections(observer, connector, sandbox)) == 4

    wait_until(lambda: len(server_connections(observer, connector, sandbox)) == 1, 20, message="the pool to shrink")
    stats = pool_stats.stats(connector, sandbox)
    assert (stats["size"], stats["closed"]) == (1, 3)


def test_a_killed_server_connection_is_replaced_without_failing_a_call(
    database_connector, pg_settings, sandbox, observer, monkeypatch
):
    monkeypatch.setattr(
        "connectors.catalog.postgres.CHECK_AFTER", 0.0
    )  # every idle connection is checked before it is lent
    connector = database_connector("postgres", {**pg_settings, "min_idle": 2, "max_pool": 2}, [sandbox])
    pools.get(connector, sandbox)
    wait_until(lambda: len(server_connections(observer, connector, sandbox)) == 2, 10, message="2 connections")
    killed = set(server_connections(observer, connector, sandbox))
    for pid in killed:
        observer.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until(lambda: not set(server_connections(observer, connector, sandbox)) & killed, 5, message="the kill")

    answers = [call(connector, sandbox, "SELECT pg_backend_pid() AS pid")["rows"][0]["pid"] for _ in range(4)]

    assert not set(answers) & killed, "the calls ran on new connections"
    assert pool_stats.stats(connector, sandbox)["closed"] >= 2


def test_an_edited_connector_gets_a_fresh_pool_and_the_old_one_is_drained(
    database_connector, pg_settings, sandbox, observer
):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 2, "max_pool": 3}, [sandbox])
    first = pools.get(connector, sandbox)
    wait_until(lambda: len(server_connections(observer, connector, sandbox)) == 2, 10, message="the first pool")

    Connector.objects.filter(pk=connector.pk).update(revision=connector.revision + 1)
    edited = Connector.objects.get(pk=connector.pk)
    pools.get(edited, sandbox)
    wait_until(lambda: len(server_connections(observer, edited, sandbox)) == 2, 10, message="the new pool")
    assert call(edited, sandbox, "SELECT current_setting('application_name') AS name")["rows"] == [
        {"name": pools.application_name(connector.pk, sandbox.pk, edited.revision)}
    ]

    assert pools.get(edited, sandbox) is not first
    wait_until(lambda: server_connections(observer, connector, sandbox) == [], 10, message="the old pool to drain")
    assert pools.get(connector, sandbox) is pools.get(edited, sandbox), (
        "a stale copy of the connector uses the new pool"
    )


def test_pools_of_deleted_or_edited_connectors_are_closed_without_another_call(
    database_connector, pg_settings, sandbox, observer
):
    kept, edited, deleted = (
        database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 2}, [sandbox]) for _ in range(3)
    )
    for connector in (kept, edited, deleted):
        call(connector, sandbox, "SELECT 1")
        wait_until(lambda c=connector: server_connections(observer, c, sandbox), 10, message="an open pool")
    Connector.objects.filter(pk=edited.pk).update(revision=edited.revision + 1)
    deleted_pk = deleted.pk
    deleted.delete()
    deleted.pk = deleted_pk

    assert pools.close_orphans() == 2
    assert {pool.connector_id for pool in pools.live_pools()} == {kept.pk}
    for gone in (edited, deleted):
        wait_until(lambda g=gone: not server_connections(observer, g, sandbox), 10, message="the pool to close")
    assert server_connections(observer, kept, sandbox), "the pool still in use stays open"
    assert pools.close_orphans() == 0


def test_waiting_for_a_busy_pool_counts_inside_the_deadline_and_says_the_pool_is_exhausted(
    database_connector, pg_settings, sandbox
):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 0, "max_pool": 2}, [sandbox])
    call(connector, sandbox, "SELECT 1")  # opens the pool here: other threads cannot see this test's rows
    holding = [threading.Thread(target=call, args=(connector, sandbox, "SELECT pg_sleep(2)")) for _ in range(2)]
    for thread in holding:
        thread.start()
    wait_until(lambda: pool_stats.stats(connector, sandbox)["in_use"] == 2, 10, message="both connections in use")

    began = time.monotonic()
    with pytest.raises(PoolExhausted) as refused:
        call(connector, sandbox, "SELECT 1", timeout_ms=300)
    waited = time.monotonic() - began
    for thread in holding:
        thread.join()

    assert isinstance(refused.value, StepTimeout)
    assert str(refused.value).startswith("pool exhausted: 2 of 2 in use after ")
    assert waited < 1.5, "the caller gave up at its deadline, not when a connection came back"
    assert pool_stats.stats(connector, sandbox)["errors"] >= 1


def test_a_statement_over_the_deadline_is_cancelled_on_the_server(database_connector, pg_settings, sandbox, observer):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 1}, [sandbox])
    marker = f"erpflow-pool-timeout-{time.time_ns()}"
    began = time.monotonic()
    with pytest.raises(StepTimeout, match="the server cancelled it"):
        call(connector, sandbox, f"SELECT pg_sleep(30) /* {marker} */", timeout_ms=2000)
    elapsed = time.monotonic() - began
    running = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE query LIKE %s AND state = 'active' AND pid <> pg_backend_pid()",
        [f"%{marker}%"],
    ).fetchone()[0]
    assert elapsed >= 1.9, "it ran until its timeout"
    assert running == 0
    assert call(connector, sandbox, "SELECT 1 AS one")["rows"] == [{"one": 1}], "the connection is still usable"


def test_a_connector_without_settings_for_the_environment_says_so(database_connector, pg_settings, sandbox, production):
    connector = database_connector("postgres", pg_settings, [sandbox], name="Warehouse")
    with pytest.raises(Exception, match="Connector 'Warehouse' is not configured for the 'Production' environment"):
        call(connector, production, "SELECT 1")


def test_stats_sum_every_process_and_drop_processes_that_stopped_reporting(
    database_connector, pg_settings, sandbox, settings
):
    import json

    from config.redis_client import client as redis_client

    connector = database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 5}, [sandbox])
    pools.get(connector, sandbox)
    wait_until(lambda: pool_stats.stats(connector, sandbox)["idle"] >= 1, 10, message="this process's pool")
    own = pool_stats.stats(connector, sandbox)
    key = pool_stats.STATS_KEY.format(connector=connector.pk, environment=sandbox.pk)
    client = redis_client()
    other = {"size": 4, "idle": 1, "in_use": 3, "waiting": 2, "opened": 6, "closed": 2, "errors": 1}
    client.hset(
        key, "worker-b:42", json.dumps({**other, "min_idle": 1, "max_size": 5, "revision": 1, "at": time.time()})
    )
    client.hset(key, "gone:7", json.dumps({**other, "revision": 1, "at": time.time() - 3600}))
    try:
        stats = pool_stats.stats(connector, sandbox)
    finally:
        client.delete(key)
    assert stats["processes"] == 2
    assert (stats["size"], stats["in_use"], stats["waiting"]) == (own["size"] + 4, own["in_use"] + 3, 2)
    assert stats["opened"] == own["opened"] + 6
    assert (stats["min_idle"], stats["max_size"]) == (1, 5)


def test_this_process_publishes_its_pools_for_the_api_process(database_connector, pg_settings, sandbox):
    from config.redis_client import client as redis_client

    connector = database_connector("postgres", {**pg_settings, "min_idle": 2, "max_pool": 5}, [sandbox])
    pools.get(connector, sandbox)
    wait_until(lambda: pool_stats.stats(connector, sandbox)["idle"] == 2, 10, message="the pool to fill")
    pool_stats.publish()
    key = pool_stats.STATS_KEY.format(connector=connector.pk, environment=sandbox.pk)
    import json

    published = json.loads(redis_client().hget(key, pool_stats.PROCESS))
    redis_client().delete(key)
    assert (published["size"], published["max_size"], published["revision"]) == (2, 5, connector.revision)


def test_a_changed_variable_reaches_the_pool_when_its_settings_are_checked_again(
    database_connector, pg_settings, sandbox, org, monkeypatch
):
    from accounts.models import Variable

    variable = Variable.objects.create(
        organization=org, environment=sandbox, key="PG_DB", value=pg_settings["database"]
    )
    connector = database_connector("postgres", {**pg_settings, "database": "{{ env.PG_DB }}", "min_idle": 0}, [sandbox])
    query = "SELECT current_database() AS db"
    assert call(connector, sandbox, query)["rows"] == [{"db": pg_settings["database"]}]
    first = pools.get(connector, sandbox)

    Variable.objects.filter(pk=variable.pk).update(value="postgres")
    assert call(connector, sandbox, query)["rows"] == [{"db": pg_settings["database"]}], "not before the recheck"
    monkeypatch.setattr(first, "recheck_at", 0.0)
    assert call(connector, sandbox, query)["rows"] == [{"db": "postgres"}]
    unchanged = pools.get(connector, sandbox)
    assert unchanged is not first

    monkeypatch.setattr(unchanged, "recheck_at", 0.0)
    assert pools.get(connector, sandbox) is unchanged, "settings that resolve the same keep their pool"


def test_a_server_that_cannot_be_reached_times_out_with_the_reason(database_connector, pg_settings, sandbox):
    port = closed_port()
    connector = database_connector("postgres", {**pg_settings, "port": port, "min_idle": 1}, [sandbox])
    with pytest.raises(StepTimeout, match=r"^no database connection could be opened within \d+ ms: .*refused"):
        call(connector, sandbox, "SELECT 1", timeout_ms=1000)


def test_a_secret_in_a_call_error_is_masked_in_the_error_and_the_drivers_logs(
    database_connector, pg_settings, sandbox, caplog
):
    caplog.set_level(logging.DEBUG)
    secret = "Pa55-pasted-in-the-wrong-field"
    connector = database_connector("postgres", {**pg_settings, "database": secret, "password": secret}, [sandbox])
    with pytest.raises(StepTimeout) as refused:
        call(connector, sandbox, "SELECT 1", timeout_ms=1000)
    assert secret not in str(refused.value)
    assert "database '••••••••' does not exist" in str(refused.value)
    assert "error connecting" in caplog.text, "psycopg_pool logged its failed attempts"
    assert secret not in caplog.text


def test_a_missing_variable_fails_the_call_naming_it(database_connector, pg_settings, sandbox):
    from connectors.catalog.base import ConnectorError

    connector = database_connector("postgres", {**pg_settings, "host": "{{ env.WAREHOUSE_HOST }}"}, [sandbox])
    with pytest.raises(ConnectorError, match="cannot be used: host: .*WAREHOUSE_HOST.*'Sandbox' environment"):
        call(connector, sandbox, "SELECT 1")
