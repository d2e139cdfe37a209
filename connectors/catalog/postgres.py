"""PostgreSQL through psycopg 3, pooled by psycopg_pool.

Every connection runs in autocommit (each statement is its own transaction, so a step's write is
durable when the step is recorded). The owner becomes the ``search_path`` and the role is set with
``SET ROLE`` when a connection opens. A statement's time limit is the server's
``statement_timeout``, set from what is left of the step's deadline (rounded down to 50 ms, so
steps with the same timeout reuse the value already set and skip the extra round trip): the server
itself cancels the statement when it runs out. A bulk step (``for_each_row``) runs several statements
in one transaction, each with the server's limit, so a timer also cancels whatever runs when the
deadline passes: the limit covers the whole step.

An error's SQLSTATE becomes the failure a retry policy reads (``ERRORS``; class 08 and the
shutdown codes mean the connection was lost).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import psycopg_pool
from psycopg import sql

from connectors.catalog import register
from connectors.catalog.base import CONNECTION, ConnectorError, Deadline, PoolExhausted, StepTimeout, pool_stats
from connectors.catalog.database import (
    ServerDatabaseType,
    database_error,
    fetched,
    first_line,
    in_batches,
    rolled_back,
    server_fields,
    time_left_ms,
    timed_out,
)
from connectors.simplepool import CHECK_AFTER

SSL_MODES = (
    ("disable", "Off"),
    ("prefer", "When the server offers it"),
    ("require", "Required, certificate not checked"),
    ("verify-ca", "Required, certificate checked"),
    ("verify-full", "Required, certificate and host name checked"),
)
TIMEOUT_STEP_MS = 50
ERRORS = {
    "40001": "serialization_failure",
    "40P01": "deadlock",
    "55P03": "lock_timeout",
    "23505": "unique_violation",
    "23503": "foreign_key_violation",
    "23502": "not_null_violation",
    "23514": "check_violation",
    "42P01": "undefined_table",
    "42601": "syntax_error",
}
LOST = frozenset({"57P01", "57P02", "57P03"})  # the server is shutting down or not accepting connections yet


def error_of(exc: psycopg.Error) -> ConnectorError:
    """The step's error for a driver error, with its failure (see the module docstring)."""
    code = exc.sqlstate
    if code is None and isinstance(exc, psycopg.OperationalError) or (code or "").startswith("08"):
        code = code or "connection lost"
        return database_error(str(exc).strip(), code, ERRORS, frozenset({code}))
    return database_error(str(exc).strip(), code, ERRORS, LOST)


@register
class PostgresType(ServerDatabaseType):
    key = "postgres"
    label = "PostgreSQL"
    icon = "postgres"
    description = "A PostgreSQL database, with a pool of ready connections per worker process."
    paramstyle = "pyformat"
    sql_dialect = "postgresql"
    ssl_enabled_values = ("require", "verify-ca", "verify-full")
    fields = server_fields(
        port=5432,
        database_label="Database",
        database_help="Name of the database on the server.",
        owner_help="Schema the statements run in (the search_path); empty keeps the user's default.",
        ssl_modes=SSL_MODES,
        ssl_default="prefer",
    )

    def connect_kwargs(self, settings: dict, name: str) -> dict:
        return {
            "host": settings["host"],
            "port": settings["port"],
            "dbname": settings["database"],
            "user": settings["username"],
            "password": settings.get("password") or "",
            "sslmode": settings.get("ssl_mode") or "prefer",
            "connect_timeout": max(2, int(settings.get("connect_timeout") or 10)),
            "application_name": name[:63],
            "autocommit": True,
        }

    def connect(self, settings: dict, *, timeout: float, name: str, address: str | None = None):
        kwargs = self.connect_kwargs(settings, name)
        kwargs["connect_timeout"] = max(2, int(timeout))
        # libpq connects to hostaddr and keeps host for TLS verification and the password file.
        kwargs["hostaddr"] = address or self.checked_address(settings)
        return psycopg.connect(**kwargs)

    def classify(self, exc: Exception, settings: dict) -> tuple[str, str]:
        text = str(exc)
        user, database = settings["username"], settings["database"]
        if "password authentication failed" in text or "no password supplied" in text:
            return "authenticate", f"authentication failed for user '{user}': check Username and Password"
        if f'role "{user}" does not exist' in text:
            return "authenticate", f"authentication failed for user '{user}': no such user on the server"
        if "not permitted to log in" in text:
            return "authenticate", f"authentication failed for user '{user}': this role may not sign in"
        if "does not exist" in text and "database" in text:
            return "authenticate", f"database '{database}' does not exist on the server: check the Database field"
        if "SSL" in text or "certificate" in text:
            return "TLS", f"the encrypted connection failed ({first_line(exc)}): check the SSL mode"
        if "pg_hba.conf" in text:
            return "authenticate", f"the server refuses this user, database or address (pg_hba.conf): {first_line(exc)}"
        if "timeout" in text.lower():
            return "authenticate", "the server accepted the connection but did not finish signing in before the timeout"
        return "authenticate", first_line(exc)

    def prepare(self, conn, settings: dict) -> None:
        owner, role = settings.get("owner"), settings.get("role")
        if owner:
            if conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [owner]).fetchone() is None:
                raise ConnectorError(
                    f"schema '{owner}' does not exist in database '{settings['database']}': check the Owner field"
                )
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(owner)))
        if role:
            row = conn.execute(
                "SELECT pg_has_role(current_user, oid, 'MEMBER') FROM pg_roles WHERE rolname = %s", [role]
            ).fetchone()
            if row is None:
                raise ConnectorError(f"role '{role}' does not exist on the server: check the Role field")
            if not row[0]:
                raise ConnectorError(
                    f"user '{settings['username']}' is not a member of role '{role}': grant it, or clear the Role field"
                )
            conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))

    def open(self, settings: dict, *, name: str = "erpflow") -> PostgresPool:
        return PostgresPool(self, settings, name)

    def statement_budget(self, client, cursor, deadline: Deadline) -> int:
        """Set the server's statement_timeout to what is left of the deadline (see the module docstring)."""
        left = time_left_ms(deadline)
        budget = left if left < 2 * TIMEOUT_STEP_MS else left - left % TIMEOUT_STEP_MS
        if getattr(client, "erpflow_statement_timeout", None) != budget:
            client.erpflow_statement_timeout = None
            cursor.execute("SELECT set_config('statement_timeout', %s, false)", [str(budget)])
            client.erpflow_statement_timeout = budget
        return budget

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        cursor = client.cursor()
        budget = 0
        try:
            budget = self.statement_budget(client, cursor, deadline)
            cursor.execute(instruction, params)
            return fetched(cursor)
        except psycopg.errors.QueryCanceled as exc:
            if "statement timeout" in str(exc):
                raise timed_out(budget, "the server cancelled it") from None
            raise error_of(exc) from None
        except psycopg.Error as exc:
            raise error_of(exc) from None
        finally:
            cursor.close()

    def execute_many(self, client, instruction, rows, deadline: Deadline, options: dict, batch_size: int):
        """psycopg's ``executemany`` sends each batch in pipeline mode: one round trip for its rows.
        The statement_timeout is set outside the transaction, so a rollback keeps it."""
        cursor = client.cursor()
        budget = self.statement_budget(client, cursor, deadline)
        canceller = Canceller(client, deadline.remaining())

        def run(batch: list, start: int) -> int:
            cursor.executemany(instruction, batch)
            return cursor.rowcount

        try:
            with client.transaction():
                return in_batches(rows, batch_size, deadline, run)
        except psycopg.errors.QueryCanceled as exc:
            if "statement timeout" in str(exc) or deadline.expired:
                raise rolled_back(timed_out(budget, "the server cancelled it")) from None
            raise rolled_back(error_of(exc)) from None
        except psycopg.Error as exc:
            raise rolled_back(error_of(exc)) from None
        except StepTimeout as exc:
            raise rolled_back(exc) from None
        finally:
            canceller.stop()
            cursor.close()


class Canceller:
    """Cancels whatever the connection runs on the server once ``seconds`` have passed, unless stopped
    first; ``stop`` waits for a cancel under way, so it never reaches the connection's next borrower."""

    def __init__(self, client, seconds: float):
        self.client = client
        self.lock = threading.Lock()
        self.stopped = False
        self.timer = threading.Timer(seconds, self.cancel)
        self.timer.daemon = True
        self.timer.start()

    def cancel(self) -> None:
        with self.lock:
            if not self.stopped:
                with contextlib.suppress(psycopg.Error):  # the statement then runs into statement_timeout
                    self.client.cancel_safe(timeout=5)

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
        self.timer.cancel()


class PostgresPool:
    """psycopg_pool's ConnectionPool with erpflow's settings, deadline-bound lending and stats.

    A connection idle for more than ``CHECK_AFTER`` seconds is checked with an empty statement
    before it is lent, so a restarted server or a killed session is replaced instead of failing
    the caller's statement.
    """

    def __init__(self, connector_type: PostgresType, settings: dict, name: str):
        self.connector_type = connector_type
        self.settings = settings
        self.last_error = ""
        self.call_errors = 0
        self.lent = 0
        self.lent_lock = threading.Lock()
        pool = self

        class Connection(psycopg.Connection):
            @classmethod
            def connect(cls, *args, **kwargs):
                try:
                    kwargs["hostaddr"] = connector_type.checked_address(settings)  # every new connection is checked
                    return super().connect(*args, **kwargs)
                except ConnectorError as exc:
                    pool.last_error = str(exc)
                    raise
                except Exception as exc:
                    pool.last_error = connector_type.classify(exc, settings)[1]
                    raise

        connector_type.checked_address(settings)  # a refused host fails here, not after the step's whole timeout

        self.pool = psycopg_pool.ConnectionPool(
            connection_class=Connection,
            kwargs=connector_type.connect_kwargs(settings, name),
            min_size=settings["min_idle"],
            max_size=settings["max_pool"],
            max_idle=settings["idle_timeout_ms"] / 1000,
            configure=self.configure,
            check=self.check,
            name=name,
            open=False,
            reconnect_timeout=24 * 3600,
        )
        self.pool.open(wait=False)

    def configure(self, conn) -> None:
        try:
            self.connector_type.prepare(conn, self.settings)
        except Exception as exc:
            self.last_error = first_line(exc)
            raise
        conn.erpflow_returned = time.monotonic()

    @staticmethod
    def check(conn) -> None:
        if time.monotonic() - getattr(conn, "erpflow_returned", 0.0) > CHECK_AFTER:
            conn.execute("")

    @contextmanager
    def connection(self, deadline: Deadline) -> Iterator:
        started = time.monotonic()
        try:
            conn = self.pool.getconn(timeout=max(deadline.remaining(), 0.001))
        except psycopg_pool.PoolTimeout:
            stats = self.stats()
            waited = (time.monotonic() - started) * 1000
            if stats["in_use"] >= stats["max_size"]:
                raise PoolExhausted(stats["in_use"], stats["max_size"], waited) from None
            reason = self.last_error or "the server did not answer"
            raise StepTimeout(
                f"no database connection could be opened within {waited:.0f} ms: {reason}", failure=CONNECTION
            ) from None
        with self.lent_lock:
            self.lent += 1
        try:
            yield conn
        except ConnectorError:
            self.call_errors += 1
            raise
        finally:
            with self.lent_lock:
                self.lent -= 1
            conn.erpflow_returned = time.monotonic()  # not a ``reset`` callback: that defers every return to a worker
            self.pool.putconn(conn)

    def stats(self) -> dict[str, int]:
        raw = self.pool.get_stats()
        size, idle = raw.get("pool_size", 0), raw.get("pool_available", 0)  # size counts those being opened
        failed_opens = raw.get("connections_errors", 0)
        opened = raw.get("connections_num", 0) - failed_opens
        return pool_stats(
            size=size,
            idle=idle,
            in_use=self.lent,
            waiting=raw.get("requests_waiting", 0),
            opened=opened,
            closed=max(0, opened - size),
            errors=failed_opens + raw.get("requests_errors", 0) + self.call_errors,
            min_idle=self.pool.min_size,
            max_size=self.pool.max_size,
        )

    def close(self) -> None:
        self.pool.close(timeout=5)
