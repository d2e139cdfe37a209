"""SQL steps that run once per row (``for_each_row``): ``render_rows`` then ``runtime.call_many``, on the
real PostgreSQL, MariaDB and SQLite, and on the oracledb double (no Oracle server runs here).

Each database is asked afterwards what it holds: every row written in one transaction, or none.
"""

from __future__ import annotations

import sqlite3
import uuid

import psycopg
import pytest

from connectors import catalog, pools, runtime
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.catalog.sqlite import organization_folder
from instructions.render import render_rows
from tests.connectors.test_oracle_double import (
    DoubleConnection,
    DoubleCursor,
    DoubleError,
    DoublePool,
)
from tests.connectors.test_oracle_double import double as oracle_double  # noqa: F401 - the driver double's fixture
from tests.connectors.test_oracle_double import settings as oracle_settings

pytestmark = pytest.mark.django_db

ORDERS = [
    {"doc": f"SO-{n:05d}", "amount": n * 1.5, "note": 'it\'s 100% "quoted"; DROP TABLE x'} for n in range(1, 1201)
]


def bulk(connector, environment, text: str, rows: list, *, timeout_ms=20_000, batch_size=500):
    """As the engine does it: render once per row within the step's budget, then one call for them all."""
    kind = catalog.connector_type(connector.type_key)
    context = {"steps": {"orders": {"rows": rows}}, "env": {}, "trigger": {}, "execution": {}}
    rendered = render_rows(text, "{{ steps.orders.rows }}", context, kind.paramstyle, kind.sql_dialect)
    options = {"for_each_row": "{{ steps.orders.rows }}"}
    return runtime.call_many(
        connector, environment, rendered.text, rendered.rows, Deadline(timeout_ms), options, batch_size=batch_size
    )


def insert(table: str) -> str:
    return (
        f"INSERT INTO {table} (position, doc, amount, note) VALUES "
        "({{ row_index }}, {{ row.doc }}, {{ row.amount }}, {{ row.note }})"
    )


# -- PostgreSQL ---------------------------------------------------------------------------------


@pytest.fixture
def pg_table(postgres_url):
    name = f"bulk_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            f"CREATE TABLE {name} (position int, doc text PRIMARY KEY, amount numeric NOT NULL, note text, "
            "CHECK (amount < 100000))"
        )
        yield name, conn
        pools.close_all()
        conn.execute(f"DROP TABLE {name}")


def test_postgresql_writes_every_row_in_batches_with_values_bound(database_connector, pg_settings, sandbox, pg_table):
    table, conn = pg_table
    connector = database_connector("postgres", pg_settings, [sandbox])
    assert bulk(connector, sandbox, insert(table), ORDERS) == {"rows_affected": 1200, "batches": 3}
    rows = conn.execute(f"SELECT position, doc, amount::float, note FROM {table} ORDER BY position").fetchall()
    assert rows == [(i, r["doc"], r["amount"], r["note"]) for i, r in enumerate(ORDERS)]


def test_postgresql_rolls_every_row_back_when_one_fails(database_connector, pg_settings, sandbox, pg_table):
    table, conn = pg_table
    connector = database_connector("postgres", pg_settings, [sandbox])
    rows = [*ORDERS[:700], {**ORDERS[0], "doc": "SO-LAST"}, ORDERS[3]]  # the last one repeats a key
    with pytest.raises(ConnectorError, match="(?s)duplicate key.*every row was rolled back") as raised:
        bulk(connector, sandbox, insert(table), rows)
    assert raised.value.failure.db_error == "unique_violation"
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert bulk(connector, sandbox, insert(table), ORDERS[:3])["rows_affected"] == 3, "the connection is usable"


def test_postgresql_updates_count_the_rows_they_touch(database_connector, pg_settings, sandbox, pg_table):
    table, conn = pg_table
    connector = database_connector("postgres", pg_settings, [sandbox])
    bulk(connector, sandbox, insert(table), ORDERS[:10])
    update = f"UPDATE {table} SET note = {{{{ row.note }}}} WHERE doc = {{{{ row.doc }}}} OR doc = 'none'"
    changes = [{"doc": "SO-00001", "note": "one"}, {"doc": "nope", "note": "x"}, {"doc": "SO-00002", "note": "two"}]
    assert bulk(connector, sandbox, update, changes, batch_size=2) == {"rows_affected": 2, "batches": 2}
    assert conn.execute(f"SELECT note FROM {table} WHERE doc = 'SO-00002'").fetchone() == ("two",)


def test_postgresql_the_step_timeout_covers_all_batches(database_connector, pg_settings, sandbox, pg_table):
    table, conn = pg_table
    connector = database_connector("postgres", pg_settings, [sandbox])
    slow = f"INSERT INTO {table} (position, doc, amount) SELECT {{{{ row_index }}}}, {{{{ row.doc }}}}, 1 "
    slow += "FROM pg_sleep(0.05)"
    with pytest.raises(StepTimeout, match="every row was rolled back"):
        bulk(connector, sandbox, slow, ORDERS[:100], timeout_ms=1000, batch_size=20)  # 5 s of work in 1 s
    assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    assert bulk(connector, sandbox, insert(table), ORDERS[:2])["rows_affected"] == 2, "the connection is usable"


def test_no_rows_send_nothing(database_connector, pg_settings, sandbox, pg_table):
    table, _ = pg_table
    connector = database_connector("postgres", {**pg_settings, "port": 1}, [sandbox])  # never connected to
    assert bulk(connector, sandbox, insert(table), []) == {"rows_affected": 0, "batches": 0}


# -- MariaDB ------------------------------------------------------------------------------------


@pytest.fixture
def maria_table(mysql_account):
    account, admin = mysql_account
    name = f"bulk_{uuid.uuid4().hex[:8]}"
    with admin.cursor() as cursor:
        cursor.execute(f"USE `{account['database']}`")
        cursor.execute(
            f"CREATE TABLE {name} (position int, doc varchar(20) PRIMARY KEY, amount decimal(10,2) NOT NULL, "
            "note text) ENGINE=InnoDB"
        )
    yield name, account, admin
    pools.close_all()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP TABLE {name}")


def maria_rows(admin, table: str) -> list:
    admin.commit()  # a fresh snapshot
    with admin.cursor() as cursor:
        cursor.execute(f"SELECT position, doc, CAST(amount AS DOUBLE), note FROM {table} ORDER BY position")
        return list(cursor.fetchall())


def test_mariadb_writes_every_row_as_multi_row_inserts(database_connector, sandbox, maria_table):
    table, account, admin = maria_table
    connector = database_connector("mysql", account, [sandbox])
    with admin.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_insert'")
        before = int(cursor.fetchone()[1])
    assert bulk(connector, sandbox, insert(table), ORDERS) == {"rows_affected": 1200, "batches": 3}
    with admin.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE 'Com_insert'")
        statements = int(cursor.fetchone()[1]) - before
    assert statements <= 6, f"{statements} INSERT statements for 3 batches: the driver did not rewrite them"
    assert maria_rows(admin, table) == [(i, r["doc"], r["amount"], r["note"]) for i, r in enumerate(ORDERS)]


def test_mariadb_rolls_every_row_back_when_one_fails(database_connector, sandbox, maria_table):
    table, account, admin = maria_table
    connector = database_connector("mysql", account, [sandbox])
    rows = [*ORDERS[:600], {**ORDERS[1], "amount": None}]
    with pytest.raises(ConnectorError, match=r"\(1048\).*every row was rolled back") as raised:
        bulk(connector, sandbox, insert(table), rows)
    assert raised.value.failure.db_error == "not_null_violation"
    assert maria_rows(admin, table) == []
    assert bulk(connector, sandbox, insert(table), ORDERS[:2])["rows_affected"] == 2, "autocommit is back on"
    assert len(maria_rows(admin, table)) == 2


# -- SQLite -------------------------------------------------------------------------------------


@pytest.fixture
def sqlite_connector(database_connector, org, sandbox):
    connector = database_connector("sqlite", {"path": "bulk.sqlite3", "create_missing": True}, [sandbox])
    runtime.call(
        connector,
        sandbox,
        "CREATE TABLE orders (position integer, doc text PRIMARY KEY, amount real NOT NULL, note text)",
        {},
        Deadline(5000),
    )
    return connector, organization_folder(org.pk) / "bulk.sqlite3"


def sqlite_rows(path) -> list:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT position, doc, amount, note FROM orders ORDER BY position").fetchall()


def test_sqlite_writes_every_row(sqlite_connector, sandbox):
    connector, path = sqlite_connector
    assert bulk(connector, sandbox, insert("orders"), ORDERS) == {"rows_affected": 1200, "batches": 3}
    assert sqlite_rows(path) == [(i, r["doc"], r["amount"], r["note"]) for i, r in enumerate(ORDERS)]


def test_sqlite_rolls_every_row_back_when_one_fails(sqlite_connector, sandbox):
    connector, path = sqlite_connector
    with pytest.raises(ConnectorError, match="UNIQUE constraint failed.*every row was rolled back"):
        bulk(connector, sandbox, insert("orders"), [*ORDERS[:900], ORDERS[0]])
    assert sqlite_rows(path) == []


def test_sqlite_waits_for_a_locked_file_within_the_step_then_names_the_lock(sqlite_connector, sandbox):
    connector, path = sqlite_connector
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(ConnectorError, match="database is locked") as raised:
            bulk(connector, sandbox, insert("orders"), ORDERS[:5], timeout_ms=300)
    finally:
        other.close()
    assert raised.value.failure.db_error == "lock_timeout"
    assert bulk(connector, sandbox, insert("orders"), ORDERS[:5])["rows_affected"] == 5


# -- Oracle (the driver double) ------------------------------------------------------------------


class BulkCursor(DoubleCursor):
    """The double's cursor with ``executemany(..., batcherrors=True)`` and ``getbatcherrors()`` as
    python-oracledb documents them: every row is tried, the failing ones are reported with their
    offset in the batch, and ``rowcount`` counts the rows that went in."""

    def executemany(self, statement, parameters, batcherrors=False):
        conn = self.connection
        conn.statements.append((statement, len(parameters), conn.call_timeout, conn.autocommit))
        self.errors, self.rowcount = [], 0
        for offset, row in enumerate(parameters):
            if row["p2"] in conn.keys or row["p2"] in [r["p2"] for r in conn.pending]:
                error = DoubleError("ORA-00001", "unique constraint (ERP.ORDERS_PK) violated")
                if not batcherrors:
                    raise error
                self.errors.append(type("BatchError", (), {"offset": offset, **vars(error.args[0])})())
                continue
            conn.pending.append(row)
            self.rowcount += 1

    def getbatcherrors(self):
        return self.errors


class BulkConnection(DoubleConnection):
    def __init__(self, user: str):
        super().__init__(user)
        self.keys: set = set()
        self.pending: list[dict] = []
        self.commits = self.rollbacks = 0

    def cursor(self):
        return BulkCursor(self)

    def commit(self):
        self.keys |= {row["p2"] for row in self.pending}
        self.pending, self.commits = [], self.commits + 1

    def rollback(self):
        self.pending, self.rollbacks = [], self.rollbacks + 1


@pytest.fixture
def oracle(oracle_double, monkeypatch):  # noqa: F811
    monkeypatch.setattr(DoublePool, "new_connection", new_bulk_connection)
    return oracle_double


def new_bulk_connection(pool) -> BulkConnection:
    conn = BulkConnection(pool.params["user"])
    pool.module.created.append(conn)
    return conn


def test_oracle_sends_batches_with_autocommit_off_and_commits_once(oracle, database_connector, sandbox):
    connector = database_connector("oracle", oracle_settings(min_idle=1, max_pool=1), [sandbox])
    assert bulk(connector, sandbox, insert("orders"), ORDERS[:1100]) == {"rows_affected": 1100, "batches": 3}
    [conn] = oracle.created
    sent = [entry for entry in conn.statements if len(entry) == 4]
    assert [(count, autocommit) for _, count, _, autocommit in sent] == [(500, False), (500, False), (100, False)]
    assert all(0 < timeout <= 20_000 for _, _, timeout, _ in sent), "each round trip bounded by what is left"
    assert sent[0][0].startswith("INSERT INTO orders (position, doc, amount, note) VALUES (:p1, :p2, :p3, :p4)")
    assert (len(conn.keys), conn.commits, conn.rollbacks, conn.autocommit) == (1100, 1, 0, True)


def test_oracle_names_the_failing_row_and_rolls_back(oracle, database_connector, sandbox):
    connector = database_connector("oracle", oracle_settings(min_idle=1, max_pool=1), [sandbox])
    rows = [*ORDERS[:700], ORDERS[650]]
    with pytest.raises(ConnectorError) as raised:
        bulk(connector, sandbox, insert("orders"), rows)
    assert str(raised.value) == (
        "row 700 failed: ORA-00001: unique constraint (ERP.ORDERS_PK) violated; every row was rolled back"
    )
    assert raised.value.failure.db_error == "unique_violation"
    [conn] = oracle.created
    assert (conn.keys, conn.commits, conn.rollbacks, conn.autocommit) == (set(), 0, 1, True)


def test_a_type_without_sql_cannot_run_once_per_row():
    sap = catalog.connector_type("sap")
    with pytest.raises(ConnectorError, match="a SAP BAPI step cannot run once per row"):
        sap.execute_many(None, "CALL FUNCTION X: []", [{}], Deadline(1000), {}, 500)


@pytest.mark.parametrize("key", ["postgres", "mysql", "oracle", "sqlite"])
def test_for_each_row_is_a_checked_option_of_every_sql_type(key):
    kind = type(catalog.connector_type(key))
    assert kind.step_option_values({"for_each_row": "{{ steps.orders.rows }}"}) == (
        {"for_each_row": "{{ steps.orders.rows }}"},
        {},
    )
    assert kind.step_option_values({}) == ({"for_each_row": ""}, {})
    _, errors = kind.step_option_values({"for_each_row": "steps.orders.rows"})
    assert errors == {
        "for_each_row": "must be one {{ }} expression giving a list, such as {{ steps.orders.rows }}, and nothing else"
    }
    _, errors = kind.step_option_values({"for_each_row": "{{ steps.orders.rows | }}"})
    assert "is not a valid expression" in errors["for_each_row"]
    assert "for_each_row" in [option["name"] for option in kind.describe()["step_options"]]
    assert "for_each_row" not in [o.name for o in type(catalog.connector_type("http")).step_options]
