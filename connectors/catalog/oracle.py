"""Oracle Database through python-oracledb in thin mode (no Oracle client libraries), with its own pool.

The settings map onto ``oracledb.create_pool``: minimum idle connections -> ``min``, maximum pool
size -> ``max`` (growing one at a time), idle timeout -> ``timeout`` (seconds; idle connections
above ``min`` are closed after it), the connect timeout -> ``tcp_connect_timeout`` and the
``wait_timeout`` for a new connection. Waiting for a busy pool counts inside the caller's
deadline through a gate of ``max`` places in front of the pool, because oracledb's own wait time is
one value for the whole pool. The owner becomes ``Connection.current_schema`` and the role is set
with ``SET ROLE`` when a connection is created (the pool's ``session_callback``). A statement's
time limit is ``Connection.call_timeout``: when it passes the driver breaks the call off on the
server.

A bulk step (``for_each_row``) turns autocommit off for its transaction and sends each batch with
``executemany(..., batcherrors=True)``, so Oracle reports which row failed (its offset), and the
whole transaction is rolled back. An error's code becomes the failure a retry policy reads
(``ERRORS``; codes of a lost connection in ``LOST``).

No Oracle server runs in erpflow's test environment: the tests check this mapping against a
double of python-oracledb that follows its documented API (tests/connectors/test_oracle_double.py).
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from connectors.catalog import register
from connectors.catalog.base import (
    ConnectorError,
    Deadline,
    DriverMissing,
    PoolExhausted,
    StepTimeout,
    pool_stats,
)
from connectors.catalog.database import (
    ServerDatabaseType,
    could_not_connect,
    database_error,
    fetched,
    first_line,
    in_batches,
    quote_identifier,
    rolled_back,
    server_fields,
    time_left_ms,
    timed_out,
)

PLAIN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_$#]*$")
TIMEOUT_CODES = ("DPY-4024", "ORA-03156", "DPY-4011")
SSL_MODES = (("disable", "Off (TCP)"), ("require", "On (TCPS)"))
ERRORS = {
    "ORA-08177": "serialization_failure",
    "ORA-00060": "deadlock",
    "ORA-00054": "lock_timeout",  # resource busy (NOWAIT or WAIT n ran out)
    "ORA-30006": "lock_timeout",
    "ORA-00001": "unique_violation",
    "ORA-02291": "foreign_key_violation",
    "ORA-02292": "foreign_key_violation",
    "ORA-01400": "not_null_violation",
    "ORA-02290": "check_violation",
    "ORA-00942": "undefined_table",
    "ORA-00900": "syntax_error",
}
LOST = frozenset({"ORA-03113", "ORA-03114", "ORA-03135", "ORA-12170", "ORA-12541", "DPY-1001", "DPY-6005"})


def _driver():
    try:
        import oracledb  # optional driver, imported on first use: erpflow runs without its extra
    except ImportError:
        raise DriverMissing("the Oracle driver is missing: pip install 'erpflow[oracle]'") from None
    return oracledb


def oracle_name(name: str) -> str:
    """An owner or role as Oracle stores it: plain names in upper case, others exactly as typed."""
    return name.upper() if PLAIN_NAME.match(name) else name


def error_code(exc: Exception) -> str:
    error = exc.args[0] if getattr(exc, "args", None) else None
    return getattr(error, "full_code", "") or ""


@register
class OracleType(ServerDatabaseType):
    key = "oracle"
    label = "Oracle Database"
    icon = "oracle"
    description = "An Oracle database through python-oracledb's thin mode and its connection pool."
    paramstyle = "named"
    sql_dialect = "oracle"
    extra = "oracle"
    trivial_statement = "SELECT 1 FROM DUAL"
    ssl_enabled_values = ("require",)
    fields = server_fields(
        port=1521,
        database_label="Service name",
        database_help="The database service to connect to, as the listener knows it (for example FREEPDB1).",
        owner_help="Schema the statements run in (CURRENT_SCHEMA); empty keeps the user's own schema.",
        ssl_modes=SSL_MODES,
        ssl_default="disable",
    )

    def connect_params(self, settings: dict, address: str | None = None) -> dict:
        """Keyword arguments of ``oracledb.connect`` / ``create_pool`` for the connection itself.

        ``address`` is the host's address the network policy checked; plain TCP connects to it, so a
        DNS answer that changes later cannot redirect the pool. TCPS keeps the name: the driver matches
        the server certificate against it and has no separate address setting.
        """
        timeout = float(settings.get("connect_timeout") or 10)
        tls = settings.get("ssl_mode") == "require"
        return {
            "user": settings["username"],
            "password": settings.get("password") or "",
            "host": address if address and not tls else settings["host"],
            "port": settings["port"],
            "service_name": settings["database"],
            "protocol": "tcps" if tls else "tcp",
            "tcp_connect_timeout": timeout,
        }

    def pool_params(self, settings: dict, address: str | None = None) -> dict:
        """Keyword arguments of ``oracledb.create_pool`` (see the module docstring for the mapping)."""
        oracledb = _driver()
        return {
            **self.connect_params(settings, address),
            "min": settings["min_idle"],
            "max": settings["max_pool"],
            "increment": 1,
            "timeout": max(1, round(settings["idle_timeout_ms"] / 1000)),
            "getmode": oracledb.POOL_GETMODE_TIMEDWAIT,
            "wait_timeout": int(float(settings.get("connect_timeout") or 10) * 1000),
            "ping_interval": 1,
        }

    def connect(self, settings: dict, *, timeout: float, name: str, address: str | None = None):
        oracledb = _driver()
        params = self.connect_params(settings, address or self.checked_address(settings))
        params["tcp_connect_timeout"] = timeout
        return oracledb.connect(**params)

    def classify(self, exc: Exception, settings: dict) -> tuple[str, str]:
        code, user = error_code(exc), settings["username"]
        if code in ("ORA-01017", "ORA-01005"):
            return "authenticate", f"authentication failed for user '{user}': check Username and Password"
        if code in ("ORA-28000",):
            return "authenticate", f"authentication failed for user '{user}': the account is locked"
        if code in ("ORA-12514", "DPY-6001"):
            return (
                "authenticate",
                f"service '{settings['database']}' is not known to the listener: check the Service name field",
            )
        if "ssl" in str(exc).lower() or "tls" in str(exc).lower():
            return "TLS", f"the encrypted connection failed ({first_line(exc)}): check the SSL mode"
        return "authenticate", first_line(exc)

    def prepare(self, conn, settings: dict) -> None:
        owner, role = settings.get("owner"), settings.get("role")
        cursor = conn.cursor()
        try:
            if owner:
                cursor.execute("SELECT 1 FROM all_users WHERE username = :owner", {"owner": oracle_name(owner)})
                if cursor.fetchone() is None:
                    raise ConnectorError(f"schema '{owner}' does not exist in the database: check the Owner field")
                conn.current_schema = oracle_name(owner)
            if role:
                try:
                    cursor.execute(f"SET ROLE {quote_identifier(oracle_name(role), chr(34))}")
                except _driver().Error as exc:
                    raise ConnectorError(
                        f"role '{role}' cannot be set for user '{settings['username']}' ({first_line(exc)}): "
                        "grant it, or clear the Role field"
                    ) from None
        finally:
            cursor.close()

    def open(self, settings: dict, *, name: str = "erpflow") -> OraclePool:
        return OraclePool(self, settings)

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        oracledb = _driver()
        left = time_left_ms(deadline)
        client.call_timeout = left
        cursor = client.cursor()
        try:
            cursor.execute(instruction, params)
            return fetched(cursor)
        except oracledb.Error as exc:
            raise error_of(exc, left) from None
        finally:
            cursor.close()

    def execute_many(self, client, instruction, rows, deadline: Deadline, options: dict, batch_size: int):
        oracledb = _driver()
        cursor = client.cursor()
        limit_ms = 0

        def run(batch: list, start: int) -> int:
            nonlocal limit_ms
            limit_ms = client.call_timeout = time_left_ms(deadline)
            cursor.executemany(instruction, batch, batcherrors=True)
            errors = cursor.getbatcherrors()
            if errors:
                raise RowFailed(start + errors[0].offset, errors[0])
            return cursor.rowcount

        client.autocommit = False
        try:
            output = in_batches(rows, batch_size, deadline, run)
            client.commit()
            return output
        except (oracledb.Error, RowFailed, StepTimeout) as exc:
            client.call_timeout = 0  # the rollback must run even when the time is up
            with contextlib.suppress(oracledb.Error):  # a lost connection has nothing left to roll back
                client.rollback()
            if isinstance(exc, StepTimeout):
                raise rolled_back(exc) from None
            if isinstance(exc, RowFailed):
                raise rolled_back(exc.as_error(), exc.row) from None
            raise rolled_back(error_of(exc, limit_ms)) from None
        finally:
            client.autocommit = True
            cursor.close()


class RowFailed(Exception):
    """A row of a batch failed: Oracle's batch error (``full_code``, ``message``, ``offset``) and its row."""

    def __init__(self, row: int, error):
        super().__init__(row)
        self.row, self.error = row, error

    def as_error(self) -> ConnectorError:
        code, message = self.error.full_code, " ".join(str(self.error.message).split())
        text = message if message.startswith(code) else f"{code}: {message}"
        return database_error(text, code, ERRORS, LOST)


def error_of(exc: Exception, limit_ms: float) -> ConnectorError:
    """The step's error for a driver error: a timeout, or a database error with its failure."""
    code = error_code(exc)
    if code in TIMEOUT_CODES:
        return timed_out(limit_ms, "the driver broke the call off on the server")
    return database_error(first_line(exc), code or None, ERRORS, LOST)


class OraclePool:
    """oracledb's pool behind a gate of ``max`` places, so waiting for a busy pool obeys each deadline."""

    def __init__(self, connector_type: OracleType, settings: dict):
        oracledb = _driver()
        self.connector_type = connector_type
        self.settings = settings
        self.cond = threading.Condition()
        self.lent = 0
        self.waiting = 0
        self.created = 0
        self.errors = 0
        address = connector_type.checked_address(settings)
        self.pool = oracledb.create_pool(
            **connector_type.pool_params(settings, address), session_callback=self.session_created
        )

    def session_created(self, conn, requested_tag) -> None:
        """oracledb calls this once for each new connection, before lending it."""
        conn.autocommit = True  # each statement is its own transaction, as on the other databases
        self.connector_type.prepare(conn, self.settings)
        with self.cond:
            self.created += 1

    @contextmanager
    def connection(self, deadline: Deadline) -> Iterator:
        started = time.monotonic()
        with self.cond:
            self.waiting += 1
            try:
                while self.lent >= self.pool.max:
                    remaining = deadline.remaining()
                    if remaining <= 0:
                        self.errors += 1
                        raise PoolExhausted(self.lent, self.pool.max, (time.monotonic() - started) * 1000)
                    self.cond.wait(remaining)
                self.lent += 1
            finally:
                self.waiting -= 1
        try:
            try:
                conn = self.pool.acquire()
            except _driver().Error as exc:
                self.errors += 1
                advice = self.connector_type.classify(exc, self.settings)[1]
                raise could_not_connect(f"no connection could be opened: {advice}") from None
            try:
                yield conn
            except ConnectorError:
                self.errors += 1
                raise
            finally:
                self.pool.release(conn)
        finally:
            with self.cond:
                self.lent -= 1
                self.cond.notify()

    def stats(self) -> dict[str, int]:
        size, busy = self.pool.opened, self.pool.busy
        return pool_stats(
            size=size,
            idle=max(0, size - busy),
            in_use=busy,
            waiting=self.waiting,
            opened=self.created,
            closed=max(0, self.created - size),
            errors=self.errors,
            min_idle=self.pool.min,
            max_size=self.pool.max,
        )

    def close(self) -> None:
        self.pool.close(force=True)
