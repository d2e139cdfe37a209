"""What a failed database call tells a retry policy, from real conflicts on the real servers: a
PostgreSQL serialization failure and deadlock, a MariaDB deadlock, a locked SQLite file, a lost
connection, a port nothing listens on. Oracle's codes are checked against the oracledb double
(``tests/connectors/test_oracle_double.py``): no Oracle server runs here."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from types import SimpleNamespace

import psycopg
import pytest

from connectors import pools, runtime
from connectors.catalog.base import ConnectorError, Deadline, Failure, StepTimeout, retryable
from connectors.catalog.oracle import error_of
from connectors.catalog.sqlite import organization_folder
from tests.connectors.conftest import closed_port
from tests.flows.workers import wait_until

pytestmark = pytest.mark.django_db


def call(connector, environment, sql: str, timeout_ms: int = 8000, params=None):
    return runtime.call(connector, environment, sql, params or {}, Deadline(timeout_ms))


class InThread:
    """A call running in a thread of its own, so the test can act while it waits for a lock."""

    def __init__(self, work):
        self.error: BaseException | None = None
        self.result = None
        self.thread = threading.Thread(target=self.run, args=(work,))
        self.thread.start()

    def run(self, work):
        try:
            self.result = work()
        except BaseException as exc:
            self.error = exc

    def join(self) -> BaseException | None:
        self.thread.join(15)
        assert not self.thread.is_alive()
        return self.error


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_table(postgres_url):
    """A table of two rows (id 1 and 2) on the local server, and a connection of the test's own."""
    name = f"failures_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as other:
        other.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v int NOT NULL)")
        other.execute(f"INSERT INTO {name} VALUES (1, 0), (2, 0)")
        yield name, other
        pools.close_all()
        other.execute(f"DROP TABLE {name}")


def waiting_for_a_lock(observer, connector, environment) -> bool:
    name = pools.application_name(connector.pk, environment.pk, connector.revision)
    row = observer.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND wait_event_type = 'Lock'", [name]
    ).fetchone()
    return row[0] == 1


def test_a_serialization_failure_on_postgresql(database_connector, pg_settings, sandbox, pg_table, postgres_url):
    table, other = pg_table
    connector = database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 1}, [sandbox])
    # the pool's one connection, opened here: the thread cannot see this test's rows
    call(connector, sandbox, "SET default_transaction_isolation = 'serializable'")
    with psycopg.connect(postgres_url, autocommit=True) as observer:
        other.execute("BEGIN ISOLATION LEVEL SERIALIZABLE")
        other.execute(f"UPDATE {table} SET v = 10 WHERE id = 1")
        update = InThread(lambda: call(connector, sandbox, f"UPDATE {table} SET v = v + 1 WHERE id = 1"))
        wait_until(lambda: waiting_for_a_lock(observer, connector, sandbox), 5, message="the step waits for the row")
        other.execute("COMMIT")
        error = update.join()
    assert isinstance(error, ConnectorError) and "could not serialize access" in str(error)
    assert error.failure == Failure("database", db_error="serialization_failure", db_code="40001")
    assert retryable(error.failure)


def test_a_deadlock_on_postgresql(database_connector, pg_settings, sandbox, pg_table, postgres_url):
    table, other = pg_table
    connector = database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 1}, [sandbox])
    other.execute("SET deadlock_timeout = '10s'")  # the step's side detects the deadlock and is the one stopped
    call(connector, sandbox, "SELECT 1")  # opens the pool here: the thread cannot see this test's rows
    with psycopg.connect(postgres_url, autocommit=True) as observer:
        other.execute("BEGIN")
        other.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 2")
        statement = (
            f"DO $$ BEGIN UPDATE {table} SET v = v + 1 WHERE id = 1; PERFORM pg_sleep(0.3); "
            f"UPDATE {table} SET v = v + 1 WHERE id = 2; END $$"
        )
        update = InThread(lambda: call(connector, sandbox, statement))
        wait_until(lambda: update.error or waiting_for_a_lock(observer, connector, sandbox), 5, message="row 2")
        assert update.error is None, update.error
        other.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 1")  # waits for the step: a deadlock
        error = update.join()
        other.execute("ROLLBACK")
    assert isinstance(error, ConnectorError) and "deadlock detected" in str(error)
    assert error.failure == Failure("database", db_error="deadlock", db_code="40P01")
    assert retryable(error.failure)


def test_a_unique_violation_on_postgresql_is_not_retried_by_default(database_connector, pg_settings, sandbox, pg_table):
    table, _ = pg_table
    connector = database_connector("postgres", pg_settings, [sandbox])
    with pytest.raises(ConnectorError, match="duplicate key") as raised:
        call(connector, sandbox, f"INSERT INTO {table} VALUES (1, 0)")
    assert raised.value.failure == Failure("database", db_error="unique_violation", db_code="23505")
    assert not retryable(raised.value.failure)


def test_a_connection_ended_by_the_server_is_a_connection_failure(
    database_connector, pg_settings, sandbox, postgres_url
):
    connector = database_connector("postgres", {**pg_settings, "min_idle": 1, "max_pool": 1}, [sandbox])
    name = pools.application_name(connector.pk, sandbox.pk, connector.revision)
    call(connector, sandbox, "SELECT 1")  # opens the pool here: the thread cannot see this test's rows
    with psycopg.connect(postgres_url, autocommit=True) as observer:
        sleeping = InThread(lambda: call(connector, sandbox, "SELECT pg_sleep(5)"))
        query = "SELECT pid FROM pg_stat_activity WHERE application_name = %s AND query LIKE 'SELECT pg_sleep%%'"
        pid = wait_until(lambda: observer.execute(query, [name]).fetchone(), 5, message="the sleep runs")[0]
        observer.execute("SELECT pg_terminate_backend(%s)", [pid])
        error = sleeping.join()
    assert isinstance(error, ConnectorError) and not isinstance(error, StepTimeout)
    assert error.failure.category == "connection"
    assert error.failure.db_code == "57P01"


def test_a_closed_port_on_postgresql_is_a_connection_failure(database_connector, pg_settings, sandbox):
    connector = database_connector("postgres", {**pg_settings, "port": closed_port(), "min_idle": 1}, [sandbox])
    with pytest.raises(StepTimeout, match="no database connection could be opened") as raised:
        call(connector, sandbox, "SELECT 1", timeout_ms=1000)
    assert raised.value.failure == Failure("connection")


# -- MariaDB ------------------------------------------------------------------------------------


@pytest.fixture
def maria_tables(mysql_account):
    """A table of two rows and a larger one, in the account's database; the admin connection."""
    account, admin = mysql_account
    name = f"failures_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        cursor.execute(f"USE `{account['database']}`")
        cursor.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB")
        cursor.execute(f"INSERT INTO {name} VALUES (1, 0), (2, 0)")
        cursor.execute(f"CREATE TABLE {name}_big (id int PRIMARY KEY, v int NOT NULL) ENGINE=InnoDB")
        cursor.execute(f"INSERT INTO {name}_big SELECT seq, 0 FROM seq_1_to_200")
    yield name, account, admin
    pools.close_all()
    admin.rollback()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}, {name}_big")


def test_a_deadlock_on_mariadb(database_connector, sandbox, maria_tables):
    table, account, admin = maria_tables
    connector = database_connector("mysql", {**account, "min_idle": 1, "max_pool": 1}, [sandbox])
    call(connector, sandbox, "SELECT 1")  # opens the pool here: the thread cannot see this test's rows
    admin.begin()
    with admin.cursor() as cursor:
        cursor.execute(f"UPDATE {table}_big SET v = v + 1")  # the heavier transaction: InnoDB stops the other one
        cursor.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 2")
        update = InThread(lambda: call(connector, sandbox, f"UPDATE {table} SET v = v + 1 ORDER BY id"))

        def step_runs() -> bool:
            cursor.execute(
                "SELECT count(*) FROM information_schema.processlist WHERE user = %s AND info LIKE %s",
                [account["username"], f"%UPDATE {table} SET%"],
            )
            return cursor.fetchone()[0] == 1

        wait_until(lambda: update.error or step_runs(), 10, message="the step's update to start")
        assert update.error is None, update.error
        time.sleep(0.3)  # it locks row 1 at once, then waits for row 2
        cursor.execute(f"UPDATE {table} SET v = v + 1 WHERE id = 1")
    error = update.join()
    admin.rollback()
    assert isinstance(error, ConnectorError) and "Deadlock" in str(error)
    assert error.failure == Failure("database", db_error="deadlock", db_code="1213")
    assert retryable(error.failure)


def test_a_unique_violation_on_mariadb(database_connector, sandbox, maria_tables):
    table, account, _ = maria_tables
    connector = database_connector("mysql", account, [sandbox])
    with pytest.raises(ConnectorError, match=r"\(1062\) Duplicate entry") as raised:
        call(connector, sandbox, f"INSERT INTO {table} VALUES (1, 0)")
    assert raised.value.failure == Failure("database", db_error="unique_violation", db_code="1062")


# -- SQLite -------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_file(database_connector, org, sandbox):
    connector = database_connector("sqlite", {"path": "failures.sqlite3", "create_missing": True}, [sandbox])
    call(connector, sandbox, "CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL)")
    return connector, organization_folder(org.pk) / "failures.sqlite3"


def test_a_locked_sqlite_file_is_a_lock_timeout(sqlite_file, sandbox):
    connector, path = sqlite_file
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # holds the write lock
        with pytest.raises(ConnectorError, match="database is locked") as raised:
            call(connector, sandbox, "INSERT INTO t VALUES (1, 0)", timeout_ms=400)
    finally:
        other.close()
    assert not isinstance(raised.value, StepTimeout), "the lock is named, not just the time"
    assert raised.value.failure == Failure("database", db_error="lock_timeout", db_code="SQLITE_BUSY")
    assert not retryable(raised.value.failure) and retryable(raised.value.failure, {"db_errors": ["lock_timeout"]})


def test_sqlite_constraints_are_named(sqlite_file, sandbox):
    connector, _ = sqlite_file
    call(connector, sandbox, "INSERT INTO t VALUES (1, 0)")
    with pytest.raises(ConnectorError) as raised:
        call(connector, sandbox, "INSERT INTO t VALUES (1, 0)")
    assert raised.value.failure == Failure(
        "database", db_error="unique_violation", db_code="SQLITE_CONSTRAINT_PRIMARYKEY"
    )
    with pytest.raises(ConnectorError) as raised:
        call(connector, sandbox, "INSERT INTO t VALUES (2, NULL)")
    assert raised.value.failure.db_error == "not_null_violation"


# -- Oracle (the driver's documented error shape) ------------------------------------------------


def oracle_error(full_code: str, message: str) -> Exception:
    """An error as python-oracledb raises it: ``args[0]`` carries ``full_code`` and ``message``."""
    error = Exception(SimpleNamespace(full_code=full_code, message=message))
    error.__str__ = lambda: f"{full_code}: {message}"
    return error


@pytest.mark.parametrize(
    ("code", "category", "name"),
    [
        ("ORA-00060", "database", "deadlock"),
        ("ORA-08177", "database", "serialization_failure"),
        ("ORA-00054", "database", "lock_timeout"),
        ("ORA-00001", "database", "unique_violation"),
        ("ORA-00942", "database", "undefined_table"),
        ("ORA-01722", "database", "other"),
        ("ORA-03113", "connection", None),
        ("DPY-4024", "timeout", None),
    ],
)
def test_oracle_codes_become_failures(code, category, name):
    error = error_of(oracle_error(code, "as the server said"), 500)
    assert error.failure.category == category
    assert error.failure.db_error == name
    if category != "timeout":
        assert error.failure.db_code == code
