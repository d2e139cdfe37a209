"""MySQL and MariaDB through PyMySQL, pooled by erpflow's ``SimplePool`` (PyMySQL has no pool).

Connections run in autocommit with utf8mb4. The owner becomes the default database (``USE``) and
the role is set with ``SET ROLE``. A statement's time limit is enforced by the server: on MariaDB
the statement is sent as ``SET STATEMENT max_statement_time=<s> FOR <statement>`` (one round
trip); on MySQL, which lacks that, a timer sends ``KILL QUERY`` for the connection from a second
connection when the deadline passes. Either way the statement is gone from the processlist.

A bulk step (``for_each_row``) runs in one transaction; PyMySQL's ``executemany`` rewrites an
``INSERT ... VALUES (...)`` into one multi-row statement per batch (any other statement runs row by
row). A prefix would keep it from recognising the INSERT, so the whole bulk step is bounded by the
``KILL QUERY`` timer on MariaDB too. An error's number becomes the failure a retry policy reads
(``ERRORS``; a lost connection is a connection failure).
"""

from __future__ import annotations

import contextlib
import logging
import threading

from connectors.catalog import register
from connectors.catalog.base import CONNECTION, ConnectorError, Deadline, DriverMissing, StepTimeout
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
from connectors.simplepool import BrokenConnection, SimplePool

logger = logging.getLogger("erpflow.connectors")
SSL_MODES = (("disable", "Off"), ("require", "Required, certificate not checked"))
TIMED_OUT = {1969, 3024}  # MariaDB max_statement_time, MySQL max_execution_time
ACCESS_DENIED = {1045, 1698}
UNKNOWN_DATABASE = 1049
LOST = {2006, 2013, 2055}
ERRORS = {
    1213: "deadlock",
    1205: "lock_timeout",
    1062: "unique_violation",
    1451: "foreign_key_violation",
    1452: "foreign_key_violation",
    1048: "not_null_violation",
    3819: "check_violation",
    4025: "check_violation",  # MariaDB's CONSTRAINT ... failed
    1146: "undefined_table",
    1064: "syntax_error",
}


def _driver():
    try:
        import pymysql  # optional driver, imported on first use: erpflow runs without its extra
    except ImportError:
        raise DriverMissing("the MySQL/MariaDB driver is missing: pip install 'erpflow[mysql]'") from None
    return pymysql


def error_code(exc: Exception) -> int | None:
    args = getattr(exc, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def error_text(exc: Exception) -> str:
    args = getattr(exc, "args", ())
    return str(args[1]) if len(args) > 1 else first_line(exc)


@register
class MySQLType(ServerDatabaseType):
    key = "mysql"
    label = "MySQL / MariaDB"
    icon = "mysql"
    description = "A MySQL or MariaDB database, with a pool of ready connections per worker process."
    paramstyle = "pyformat"
    sql_dialect = "mysql"
    extra = "mysql"
    ssl_enabled_values = ("require",)
    fields = server_fields(
        port=3306,
        database_label="Database",
        database_help="Name of the database to connect to.",
        owner_help="Database the statements run in when it differs from the one connected to (USE).",
        ssl_modes=SSL_MODES,
        ssl_default="disable",
    )

    def connect(self, settings: dict, *, timeout: float, name: str, address: str | None = None):
        pymysql = _driver()
        options = {}
        if settings.get("ssl_mode") == "require":
            options["ssl"] = {"check_hostname": False}
        conn = pymysql.connect(
            host=address or self.checked_address(settings),  # the checked address, not the name: see database.py
            port=settings["port"],
            user=settings["username"],
            password=settings.get("password") or "",
            database=settings["database"],
            connect_timeout=max(1, int(timeout)),
            autocommit=True,
            charset="utf8mb4",
            program_name=name[:60],
            **options,
        )
        conn.erpflow_mariadb = "mariadb" in conn.get_server_info().lower()
        return conn

    def classify(self, exc: Exception, settings: dict) -> tuple[str, str]:
        code, user, database = error_code(exc), settings["username"], settings["database"]
        if code in ACCESS_DENIED:
            return "authenticate", f"authentication failed for user '{user}': check Username and Password"
        if code == 1044:
            return "authenticate", f"user '{user}' may not use database '{database}': grant it access"
        if code == UNKNOWN_DATABASE:
            return "authenticate", f"database '{database}' does not exist on the server: check the Database field"
        if "ssl" in str(exc).lower() or "tls" in str(exc).lower():
            return "TLS", f"the encrypted connection failed ({error_text(exc)}): check the SSL mode"
        return "authenticate", error_text(exc)

    def prepare(self, conn, settings: dict) -> None:
        owner, role = settings.get("owner"), settings.get("role")
        with conn.cursor() as cursor:
            if owner:
                cursor.execute("SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [owner])
                if cursor.fetchone() is None:
                    raise ConnectorError(f"schema '{owner}' does not exist on the server: check the Owner field")
                cursor.execute(f"USE {quote_identifier(owner, '`')}")
            if role:
                try:
                    cursor.execute(f"SET ROLE {quote_identifier(role, '`')}")
                except _driver().Error as exc:
                    raise ConnectorError(
                        f"role '{role}' cannot be set for user '{settings['username']}' ({error_text(exc)}): "
                        "grant it, or clear the Role field"
                    ) from None

    def open(self, settings: dict, *, name: str = "erpflow") -> SimplePool:
        self.checked_address(settings)  # a refused host fails here, not after the step's whole timeout

        def connect(timeout: float):
            try:
                conn = self.connect(settings, timeout=timeout, name=name)
            except _driver().Error as exc:
                raise could_not_connect(f"no connection could be opened: {self.classify(exc, settings)[1]}") from None
            try:
                self.prepare(conn, settings)
            except Exception:
                conn.close()
                raise
            return conn

        return SimplePool(
            connect,
            min_idle=settings["min_idle"],
            max_size=settings["max_pool"],
            idle_timeout=settings["idle_timeout_ms"] / 1000,
            connect_timeout=float(settings.get("connect_timeout") or 10),
            is_alive=alive,
            name=name,
        )

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        pymysql = _driver()
        left = time_left_ms(deadline) / 1000
        watchdog = None
        if client.erpflow_mariadb:
            instruction = f"SET STATEMENT max_statement_time={left:.3f} FOR {instruction}"
        else:
            watchdog = Watchdog(client, left)
        try:
            with client.cursor() as cursor:
                cursor.execute(instruction, params)
                output = fetched(cursor)
        except pymysql.Error as exc:
            raise self.error_of(exc, client, watchdog, left) from None
        finally:
            if watchdog is not None:
                watchdog.cancel()
        if watchdog is not None and watchdog.fired.is_set():  # an interrupted SLEEP() returns instead of failing
            raise timed_out(left * 1000, "the server stopped it")
        return output

    @staticmethod
    def error_of(exc: Exception, client, watchdog: Watchdog | None, left: float) -> ConnectorError:
        """The step's error for a driver error: a timeout, a lost connection, or a database error."""
        code = error_code(exc)
        if code in TIMED_OUT or (watchdog is not None and watchdog.fired.is_set()):
            return timed_out(left * 1000, "the server stopped it")
        if code in LOST or not client.open:
            return BrokenConnection(f"the connection to the server was lost: {error_text(exc)}", failure=CONNECTION)
        return database_error(f"({code}) {error_text(exc)}" if code else error_text(exc), code, ERRORS)

    def execute_many(self, client, instruction, rows, deadline: Deadline, options: dict, batch_size: int):
        pymysql = _driver()
        left = time_left_ms(deadline) / 1000
        watchdog = Watchdog(client, left)

        def run(batch: list, start: int) -> int:
            with client.cursor() as cursor:
                return cursor.executemany(instruction, batch) or 0

        try:
            client.begin()
            output = in_batches(rows, batch_size, deadline, run)
            client.commit()
            return output
        except (pymysql.Error, StepTimeout) as exc:
            with contextlib.suppress(pymysql.Error):  # a lost connection has nothing left to roll back
                client.rollback()
            if isinstance(exc, StepTimeout):
                raise rolled_back(exc) from None
            raise rolled_back(self.error_of(exc, client, watchdog, left)) from None
        finally:
            watchdog.cancel()


class Watchdog:
    """MySQL's time limit for any statement: ``KILL QUERY`` from a second connection at the deadline."""

    def __init__(self, conn, seconds: float):
        self.conn = conn
        self.fired = threading.Event()
        self.timer = threading.Timer(seconds, self.kill)
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        self.timer.cancel()

    def kill(self) -> None:
        self.fired.set()
        pymysql = _driver()
        conn = self.conn
        try:
            killer = pymysql.connect(
                host=conn.host, port=conn.port, user=conn.user, password=conn.password, connect_timeout=5
            )
            with killer, killer.cursor() as cursor:
                cursor.execute("KILL QUERY %s", [conn.thread_id()])
        except pymysql.Error as exc:
            logger.warning("could not stop a late statement on %s: %s", conn.host, type(exc).__name__)


def alive(conn) -> bool:
    if not conn.open:
        return False
    try:
        conn.ping(reconnect=False)
    except Exception:
        return False
    return True
