"""The Oracle type against a DOUBLE of python-oracledb: no Oracle server can run here.

``OracledbDouble`` stands in for the ``oracledb`` module. It follows python-oracledb's documented
API for what erpflow uses (``create_pool`` and its ``ConnectionPool``: ``acquire``, ``release``,
``close``, ``opened``, ``busy``, ``min``, ``max``; ``connect``; ``Connection.call_timeout``,
``current_schema``, ``autocommit``, ``cursor``; errors whose first argument carries ``full_code``)
and hands every keyword argument to the real driver's ``PoolParams`` / ``ConnectParams``, which
refuse unknown or mistyped parameters, so the mapping is checked against the real driver's
signature. What runs against a real Oracle server: nothing, in this repository's tests.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
from types import SimpleNamespace

import oracledb as real_oracledb
import pytest

from accounts.models import Environment
from connectors import catalog, pool_stats, pools, runtime, values
from connectors.catalog.base import ConnectorError, Deadline, PoolExhausted, StepTimeout
from connectors.egress import policy as egress_policy
from tests.flows.workers import wait_until

pytestmark = pytest.mark.django_db

ORACLE = catalog.type_class("oracle")
USERS = {"ERP_OWNER", "INTEGRATION"}
ROLES = {"ERP_READER"}


class DoubleError(Exception):
    """Like ``oracledb.Error``: ``args[0]`` is an object with ``full_code`` and ``message``."""

    def __init__(self, full_code: str, message: str):
        super().__init__(SimpleNamespace(full_code=full_code, message=message))
        self.text = f"{full_code}: {message}"

    def __str__(self) -> str:
        return self.text


class DoubleCursor:
    def __init__(self, connection: DoubleConnection):
        self.connection = connection
        self.description = None
        self.rowcount = 0
        self.rows: list[tuple] = []

    def execute(self, statement: str, parameters=None):
        self.connection.statements.append((statement, parameters, self.connection.call_timeout))
        self.description, self.rows, self.rowcount = None, [], 0
        if statement.startswith("SELECT 1 FROM all_users"):
            self.answer(["1"], [(1,)] if parameters["owner"] in USERS else [])
        elif statement.startswith("SET ROLE"):
            if statement.removeprefix("SET ROLE ").strip('"') not in ROLES:
                raise DoubleError("ORA-01924", "role not granted or does not exist")
        elif statement.startswith("BEGIN dbms_session.sleep"):
            seconds = float(statement.split("(")[1].split(")")[0])
            limit = self.connection.call_timeout / 1000 if self.connection.call_timeout else None
            if limit is not None and seconds > limit:
                time.sleep(limit)
                raise DoubleError("DPY-4024", f"call timeout of {self.connection.call_timeout} ms exceeded")
            time.sleep(seconds)
        elif statement == "SELECT 1 FROM DUAL":
            self.answer(["1"], [(1,)])
        elif statement.startswith("SELECT :p1"):
            self.answer(["ECHOED", "SCHEMA"], [(parameters["p1"], self.connection.current_schema)])
        elif statement.startswith("UPDATE"):
            self.rowcount = 3
        else:
            raise DoubleError("ORA-00942", "table or view does not exist")

    def answer(self, names, rows):
        self.description = [(name, None, None, None, None, None, True) for name in names]
        self.rows, self.rowcount = rows, len(rows)

    def fetchall(self):
        return list(self.rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None

    def close(self):
        pass


class DoubleConnection:
    def __init__(self, user: str):
        self.username = user
        self.call_timeout = 0
        self.current_schema = None
        self.autocommit = False
        self.statements: list[tuple] = []
        self.closed = False

    def cursor(self):
        return DoubleCursor(self)

    def close(self):
        self.closed = True


class DoublePool:
    def __init__(self, module: OracledbDouble, params: dict):
        self.module = module
        self.params = params
        self.min, self.max = params["min"], params["max"]
        self.timeout, self.wait_timeout = params["timeout"], params["wait_timeout"]
        self.session_callback = params.get("session_callback")
        self.idle: list[DoubleConnection] = []
        self.lent: list[DoubleConnection] = []
        self.lock = threading.Lock()
        for _ in range(self.min):
            self.idle.append(self.new_connection())

    def new_connection(self) -> DoubleConnection:
        conn = DoubleConnection(self.params["user"])
        self.module.created.append(conn)
        return conn

    @property
    def opened(self) -> int:
        return len(self.idle) + len(self.lent)

    @property
    def busy(self) -> int:
        return len(self.lent)

    def acquire(self):
        with self.lock:
            if len(self.lent) >= self.max:
                raise DoubleError("DPY-4005", "timed out waiting for the connection pool to return a connection")
            fresh = not self.idle
            conn = self.idle.pop() if self.idle else self.new_connection()
            self.lent.append(conn)
        if fresh or not getattr(conn, "called_back", False):
            conn.called_back = True
            if self.session_callback:
                self.session_callback(conn, None)
        return conn

    def release(self, conn):
        with self.lock:
            self.lent.remove(conn)
            self.idle.append(conn)

    def close(self, force: bool = False):
        self.module.closed_pools.append(self)


class OracledbDouble:
    """The double of the ``oracledb`` module (see the module docstring)."""

    Error = DoubleError
    POOL_GETMODE_TIMEDWAIT = real_oracledb.POOL_GETMODE_TIMEDWAIT

    def __init__(self):
        self.pools: list[DoublePool] = []
        self.closed_pools: list[DoublePool] = []
        self.created: list[DoubleConnection] = []
        self.passwords = {"INTEGRATION": "right-password"}

    def create_pool(self, **params):
        real_oracledb.PoolParams(**params)  # the real driver refuses unknown or mistyped parameters
        pool = DoublePool(self, params)
        self.pools.append(pool)
        return pool

    def connect(self, **params):
        real_oracledb.ConnectParams(**params)
        if self.passwords.get(params["user"].upper()) != params["password"]:
            raise DoubleError("ORA-01017", "invalid credential or not authorized; logon denied")
        return DoubleConnection(params["user"])


@pytest.fixture
def double(monkeypatch):
    """The driver double, and a DNS answer for its host name, which no resolver here knows."""
    module = OracledbDouble()
    monkeypatch.setitem(sys.modules, "oracledb", module)
    monkeypatch.setattr(egress_policy, "resolve", lambda name, port: [ipaddress.ip_address("10.20.30.40")])
    yield module
    pools.close_all()


@pytest.fixture
def sandbox(org):
    return Environment.objects.get(organization=org, slug="sandbox")


def settings(**change) -> dict:
    return {
        "host": "oracle.example.com",
        "port": 1522,
        "database": "ERPPDB",
        "username": "integration",
        "password": "right-password",
        **change,
    }


def resolved(**change) -> dict:
    return values.resolve(ORACLE, values.clean(ORACLE, settings(**change)), None)


def test_the_settings_map_onto_create_pool_as_python_oracledb_documents_them():
    params = ORACLE().pool_params(resolved(min_idle=2, max_pool=8, idle_timeout_ms=90_000, connect_timeout=7))
    assert params == {
        "user": "integration",
        "password": "right-password",
        "host": "oracle.example.com",
        "port": 1522,
        "service_name": "ERPPDB",
        "protocol": "tcp",
        "tcp_connect_timeout": 7.0,
        "min": 2,
        "max": 8,
        "increment": 1,
        "timeout": 90,
        "getmode": real_oracledb.POOL_GETMODE_TIMEDWAIT,
        "wait_timeout": 7000,
        "ping_interval": 1,
    }
    checked = real_oracledb.PoolParams(**params)
    assert (checked.min, checked.max, checked.timeout, checked.wait_timeout) == (2, 8, 90, 7000)
    assert "(HOST=oracle.example.com)(PORT=1522)" in checked.get_connect_string()
    assert "(SERVICE_NAME=ERPPDB)" in checked.get_connect_string()


def test_tls_means_tcps_and_the_defaults_fill_the_pool_parameters():
    params = ORACLE().pool_params(resolved(ssl_mode="require"))
    assert params["protocol"] == "tcps"
    assert (params["min"], params["max"], params["timeout"], params["port"]) == (5, 20, 600, 1522)
    assert "(PROTOCOL=tcps)" in real_oracledb.PoolParams(**params).get_connect_string()


def test_a_call_opens_one_pool_sets_owner_role_and_call_timeout_and_binds_by_name(double, database_connector, sandbox):
    connector = database_connector("oracle", settings(owner="erp_owner", role="erp_reader", min_idle=1), [sandbox])
    output = runtime.call(connector, sandbox, "SELECT :p1 AS echoed FROM DUAL", {"p1": "a'b"}, Deadline(3000))

    assert output == {"rows": [{"ECHOED": "a'b", "SCHEMA": "ERP_OWNER"}], "rowcount": 1}
    [pool] = double.pools
    assert (pool.min, pool.max, pool.params["service_name"]) == (1, 20, "ERPPDB")
    conn = pool.idle[-1]
    assert conn.autocommit is True
    assert conn.current_schema == "ERP_OWNER"
    statements = [s for s, _, _ in conn.statements]
    assert statements[:2] == ["SELECT 1 FROM all_users WHERE username = :owner", 'SET ROLE "ERP_READER"']
    statement, params, call_timeout = conn.statements[-1]
    assert (statement, params) == ("SELECT :p1 AS echoed FROM DUAL", {"p1": "a'b"})
    assert 2500 < call_timeout <= 3000, "the driver's call timeout is what is left of the deadline"

    runtime.call(connector, sandbox, "UPDATE t SET x = 1", {}, Deadline(3000))
    assert len(double.pools) == 1, "the pool is reused"


def test_a_statement_past_its_deadline_ends_with_a_timeout_and_the_connection_stays(
    double, database_connector, sandbox
):
    connector = database_connector("oracle", settings(min_idle=1, max_pool=1), [sandbox])
    with pytest.raises(StepTimeout, match="broke the call off"):
        runtime.call(connector, sandbox, "BEGIN dbms_session.sleep(30); END;", {}, Deadline(300))
    assert runtime.call(connector, sandbox, "SELECT 1 FROM DUAL", {}, Deadline(1000))["rows"] == [{"1": 1}]
    assert pool_stats.stats(connector, sandbox)["errors"] == 1


def test_a_busy_pool_waits_inside_the_deadline_then_says_it_is_exhausted(double, database_connector, sandbox):
    connector = database_connector("oracle", settings(min_idle=0, max_pool=1), [sandbox])
    pools.get(connector, sandbox)
    holder = threading.Thread(
        target=runtime.call, args=(connector, sandbox, "BEGIN dbms_session.sleep(1); END;", {}, Deadline(5000))
    )
    holder.start()
    wait_until(lambda: pool_stats.stats(connector, sandbox)["in_use"] == 1, 5, message="the connection in use")
    with pytest.raises(PoolExhausted, match=r"^pool exhausted: 1 of 1 in use after \d+ ms$"):
        runtime.call(connector, sandbox, "SELECT 1 FROM DUAL", {}, Deadline(200))
    holder.join()
    assert runtime.call(connector, sandbox, "SELECT 1 FROM DUAL", {}, Deadline(1000))["rowcount"] == 1


def test_database_errors_and_settings_problems_are_connector_errors(double, database_connector, sandbox):
    connector = database_connector("oracle", settings(min_idle=0, owner="nobody"), [sandbox])
    with pytest.raises(ConnectorError, match="schema 'nobody' does not exist"):
        runtime.call(connector, sandbox, "SELECT 1 FROM DUAL", {}, Deadline(1000))
    fine = database_connector("oracle", settings(min_idle=0), [sandbox])
    with pytest.raises(ConnectorError, match="ORA-00942"):
        runtime.call(fine, sandbox, "SELECT * FROM missing", {}, Deadline(1000))


@pytest.fixture
def listener():
    """A TCP port that accepts connections, standing for the Oracle listener's socket."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield server.getsockname()[1]
    server.close()


def test_the_connection_test_runs_every_stage_through_the_driver(double, listener):
    ok = ORACLE().test(resolved(host="127.0.0.1", port=listener))
    assert ok.ok is True, ok
    assert [s.name for s in ok.stages] == [
        "resolve host",
        "open TCP",
        "authenticate",
        "trivial statement",
        "owner and role",
    ]

    wrong = ORACLE().test(resolved(host="127.0.0.1", port=listener, password="wrong"))
    assert (wrong.stages[-1].name, wrong.stages[-1].message) == (
        "authenticate",
        "authentication failed for user 'integration': check Username and Password",
    )
    assert "wrong" not in wrong.message
