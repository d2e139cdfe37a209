"""What the SQL database types share: their settings fields, the pool rules, the staged test, rows,
errors as failures a retry policy reads, and statements run once per row.

A server database type (PostgreSQL, MySQL/MariaDB, Oracle) subclasses ``ServerDatabaseType`` and
supplies its driver's parts: ``connect`` (one connection, for the test), ``prepare`` (apply the
owner and the role to a new connection), ``classify`` (turn a driver error raised while connecting
into the stage and the advice a person needs), ``open``, ``execute`` and ``execute_many``.

Every SQL type (SQLite too, through ``BulkRows``) has the step option ``for_each_row``: the
statement runs once per element of a list, all in one transaction, handed to the driver
``BATCH_ROWS`` rows at a time (psycopg's pipelined ``executemany``, PyMySQL's multi-row
``INSERT ... VALUES``, SQLite's and oracledb's ``executemany``), so a batch costs one round trip.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import socket
import time
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

from connectors.catalog.base import (
    CONNECTION,
    ConnectorError,
    ConnectorType,
    Deadline,
    Failure,
    Field,
    Stage,
    StepTimeout,
    TestResult,
)
from connectors.egress import EgressRefused, HostNotFound, Policy, open_first
from instructions.render import rows_expression_problem

POOL_GROUP = "pool"
BATCH_ROWS = 500  # rows per round trip of a bulk step: large enough to amortise it, small enough for any driver
FOR_EACH_ROW = Field(
    "for_each_row",
    "For each row",
    "A {{ }} expression giving a list, such as {{ steps.orders.rows }}: the statement runs once per element, "
    "which it reads as row (and its position as row_index), every value bound as a parameter, all in one "
    "transaction. Empty: the statement runs once.",
    default="",
    max=2000,
)


def server_fields(
    *,
    port: int,
    database_label: str,
    database_help: str,
    owner_help: str,
    ssl_modes: tuple[tuple[str, str], ...],
    ssl_default: str,
) -> tuple:
    """The fields of a server database, in the order the form shows them; ``ssl_modes`` weakest first."""
    ssl = Field(
        "ssl_mode",
        "SSL mode",
        "Whether the connection must be encrypted, and how strictly the server is checked. Only admins may "
        "make it less strict.",
        kind="choice",
        default=ssl_default,
        choices=ssl_modes,
        group="advanced",
        admin_only=True,
        strictness=tuple(value for value, _ in ssl_modes),
    )
    return (
        Field("host", "Host", "Name or IP address of the database server.", required=True, max=255, destination=True),
        Field(
            "port",
            "Port",
            "TCP port the server listens on.",
            kind="int",
            default=port,
            min=1,
            max=65535,
            destination=True,
        ),
        Field("database", database_label, database_help, required=True, max=255),
        Field("username", "Username", "The database user erpflow signs in as.", required=True, max=128),
        Field("password", "Password", "That user's password; stored encrypted, never shown again.", secret=True),
        Field("owner", "Owner", owner_help, max=128),
        Field(
            "role",
            "Role",
            "A role to switch to right after signing in, for privileges the user does not hold directly.",
            max=128,
        ),
        ssl,
        Field(
            "connect_timeout",
            "Connect timeout (s)",
            "How long to wait for the server when opening a connection.",
            kind="int",
            default=10,
            min=1,
            max=300,
            group="advanced",
        ),
        *pool_fields(min_idle=5, max_pool=20),
    )


def pool_fields(*, min_idle: int, max_pool: int) -> tuple[Field, ...]:
    return (
        Field(
            "min_idle",
            "Minimum idle connections",
            "Connections kept open and ready even when nothing runs.",
            kind="int",
            default=min_idle,
            min=0,
            max=100,
            group=POOL_GROUP,
        ),
        Field(
            "max_pool",
            "Maximum pool size",
            "Most connections open at once in one worker process; further calls wait for a free one.",
            kind="int",
            default=max_pool,
            min=1,
            max=200,
            group=POOL_GROUP,
        ),
        Field(
            "idle_timeout_ms",
            "Idle connection timeout (ms)",
            "A connection unused for this long is closed, as long as the minimum stays open.",
            kind="int",
            default=600_000,
            min=1000,
            max=86_400_000,
            group=POOL_GROUP,
        ),
    )


def check_pool(values: dict) -> dict[str, str]:
    low, high = values.get("min_idle"), values.get("max_pool")
    if isinstance(low, int) and isinstance(high, int) and low > high:
        return {"min_idle": f"Cannot be more than the maximum pool size ({high}); it is {low}."}
    return {}


def time_left_ms(deadline: Deadline) -> int:
    """Milliseconds the statement may run; StepTimeout when the deadline already passed."""
    left = deadline.remaining_ms()
    if left <= 0:
        raise StepTimeout("the step's timeout ran out before the statement could start")
    return left


def timed_out(limit_ms: float, stopped_by: str) -> StepTimeout:
    return StepTimeout(
        f"the statement was still running when the step's timeout ran out ({limit_ms:.0f} ms); {stopped_by}"
    )


def jsonable(value: Any) -> Any:
    """A database value as JSON data: exact decimals stay numbers when they survive as one."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        if value == value.to_integral_value() and abs(value) < 2**63:
            return int(value)
        as_float = float(value)
        return as_float if decimal.Decimal(repr(as_float)) == value else str(value)
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def result(names: list[str] | None, rows: list, rowcount: int) -> dict:
    """A statement's output: ``rows`` (a list of column -> value) and ``rowcount`` (rows touched or read)."""
    if names is None:
        return {"rows": [], "rowcount": max(rowcount, 0)}
    out = [{name: jsonable(value) for name, value in zip(names, row, strict=False)} for row in rows]
    return {"rows": out, "rowcount": len(out) if rowcount is None or rowcount < 0 else rowcount}


def fetched(cursor) -> dict:
    """The output of the statement a DB-API cursor just ran (see ``result``)."""
    names = [column[0] for column in cursor.description] if cursor.description else None
    return result(names, list(cursor.fetchall()) if names is not None else [], cursor.rowcount)


def database_error(
    message: str, code: str | int | None, known: dict, connection: frozenset = frozenset()
) -> ConnectorError:
    """A driver's error as the step's error, with the failure a retry policy reads: "connection" for a
    code in ``connection`` (the server went away), else "database" with ``known``'s name for the code
    (see ``connectors.catalog.base.DB_ERRORS``; "other" for the rest) and the code itself."""
    if code in connection:
        return ConnectorError(message, failure=Failure("connection", db_code=str(code)))
    name = known.get(code, "other")
    return ConnectorError(
        message, failure=Failure("database", db_error=name, db_code=None if code is None else str(code))
    )


def could_not_connect(message: str) -> ConnectorError:
    """No connection could be opened: a retry may find the server back."""
    return ConnectorError(message, failure=CONNECTION)


def in_batches(rows: list, batch_size: int, deadline: Deadline, run: Callable[[list, int], int]) -> dict:
    """Hand ``rows`` to ``run(batch, index of its first row)`` ``batch_size`` at a time while the deadline
    lasts (``run`` answers the rows it affected); the output of a bulk step."""
    affected = batches = 0
    for start in range(0, len(rows), batch_size):
        time_left_ms(deadline)
        affected += max(run(rows[start : start + batch_size], start), 0)
        batches += 1
    return {"rows_affected": affected, "batches": batches}


def rolled_back(exc: ConnectorError, row: int | None = None) -> ConnectorError:
    """A bulk step's error, saying that nothing was written, and which row failed when the driver said."""
    where = f"row {row} failed: " if row is not None else ""
    exc.args = (f"{where}{exc}; every row was rolled back",)
    return exc


class BulkRows:
    """The step option ``for_each_row`` of the SQL types and its check: a single ``{{ }}`` expression."""

    step_options: ClassVar[tuple[Field, ...]] = (FOR_EACH_ROW,)

    @classmethod
    def step_option_values(cls, given):
        values, errors = super().step_option_values(given)
        text = values.get("for_each_row")
        problem = rows_expression_problem(text) if isinstance(text, str) and text.strip() else None
        if problem:
            errors["for_each_row"] = problem
            del values["for_each_row"]
        return values, errors


def quote_identifier(name: str, quote: str) -> str:
    """``name`` quoted as an identifier (owner, role): the quote character doubled inside."""
    if not name or "\x00" in name:
        raise ConnectorError("an empty name or one with a NUL character cannot be used as an identifier")
    return quote + name.replace(quote, quote * 2) + quote


class Stages:
    """Runs test stages in order, timing each; the first failure ends the test with its advice."""

    def __init__(self):
        self.stages: list[Stage] = []

    def run(self, name: str, action: Callable[[], Any], advice: Callable[[Exception], str]) -> Any:
        started = time.perf_counter()
        try:
            value = action()
        except Exception as exc:
            self.stages.append(Stage(name, False, elapsed_ms(started), advice(exc)))
            raise StageFailed from exc
        self.stages.append(Stage(name, True, elapsed_ms(started)))
        return value

    def failed(self) -> TestResult:
        last = self.stages[-1]
        return TestResult(False, f"{last.name} failed: {last.message}", self.stages)

    def passed(self, message: str) -> TestResult:
        return TestResult(True, message, self.stages)


class StageFailed(Exception):
    """A stage failed; its message is in the last Stage."""


def refused_advice(exc: Exception, host: str) -> str:
    if isinstance(exc, HostNotFound):
        return f"{exc}; check the Host field"
    if isinstance(exc, EgressRefused | ConnectorError):
        return str(exc)
    return f"the host name '{host}' cannot be resolved ({first_line(exc)}); check the Host field"


def _closed(connected: tuple[socket.socket, str]) -> str:
    """The address that answered, after closing the probe connection."""
    sock, address = connected
    sock.close()
    return address


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0].strip()


class ServerDatabaseType(BulkRows, ConnectorType):
    """A SQL database reached over TCP; see the module docstring for what a subclass supplies."""

    category = "database"
    language = "sql"
    trivial_statement = "SELECT 1"
    ssl_enabled_values: tuple[str, ...] = ()

    def check(self, values: dict) -> dict[str, str]:
        return check_pool(values)

    # -- the network policy -----------------------------------------------------------------------

    def egress_policy(self, settings: dict):
        """Databases live on private networks, so those are allowed unless the installation narrows them."""

        return Policy.for_connector(settings, private_default=True)

    def checked_address(self, settings: dict) -> str:
        """The address a new connection goes to: the host's first address the network policy allows.

        Drivers connect to this address, not to the name, so a DNS answer that changes after the check
        cannot send the connection elsewhere.
        """
        return self.egress_policy(settings).check_host(settings["host"], settings["port"])[0]

    # -- the driver's parts -----------------------------------------------------------------------

    def connect(self, settings: dict, *, timeout: float, name: str, address: str | None = None):
        """One driver connection to ``address`` (checked by the caller), or to ``checked_address``."""
        raise NotImplementedError

    def prepare(self, conn, settings: dict) -> None:
        """Check and apply the owner and the role; raises ConnectorError saying what to fix."""
        raise NotImplementedError

    def classify(self, exc: Exception, settings: dict) -> tuple[str, str]:
        """(stage, advice) for an error raised while connecting: "TLS" or "authenticate"."""
        raise NotImplementedError

    def run_trivial(self, conn) -> None:
        cursor = conn.cursor()
        try:
            cursor.execute(self.trivial_statement)
            cursor.fetchall()
        finally:
            cursor.close()

    # -- the test ---------------------------------------------------------------------------------

    def test(self, settings: dict) -> TestResult:
        """The stages of a connection, each through the network policy: a host it refuses fails "resolve
        host", so a test cannot probe what the policy keeps out, and the driver connects to the address
        that answered the "open TCP" stage."""

        host, port = settings["host"], settings["port"]
        timeout = float(settings.get("connect_timeout") or 10)
        stages = Stages()
        conn = None
        try:
            addresses = stages.run(
                "resolve host",
                lambda: self.egress_policy(settings).check_host(host, port),
                lambda exc: refused_advice(exc, host),
            )
            address = stages.run(
                "open TCP",
                lambda: _closed(open_first(addresses, port, timeout)),
                lambda exc: (
                    f"nothing answers on {host} port {port} ({first_line(exc)}); "
                    "check Host and Port, and that the server is running and reachable from erpflow"
                ),
            )
            conn = self.connect_in_stages(stages, settings, timeout, address)
            stages.run(
                "trivial statement",
                lambda: self.run_trivial(conn),
                lambda exc: f"'{self.trivial_statement}' failed: {first_line(exc)}",
            )
            stages.run("owner and role", lambda: self.prepare(conn, settings), first_line)
        except StageFailed:
            return stages.failed()
        finally:
            if conn is not None:
                with contextlib.suppress(Exception):  # the test's answer is already decided
                    conn.close()
        return stages.passed(f"Connected to {self.label} at {host}:{port} as {settings['username']}.")

    def connect_in_stages(self, stages: Stages, settings: dict, timeout: float, address: str):
        """TLS (when configured) and authentication happen in the driver's one connect call; its
        failure is reported on the stage it belongs to."""
        started = time.perf_counter()
        tls = settings.get("ssl_mode") in self.ssl_enabled_values
        try:
            conn = self.connect(settings, timeout=timeout, name="erpflow-test", address=address)
        except Exception as exc:
            stage, advice = self.classify(exc, settings)
            if tls and stage != "TLS":
                stages.stages.append(Stage("TLS", True, 0.0, "negotiated while connecting"))
            stages.stages.append(Stage(stage, False, elapsed_ms(started), advice))
            raise StageFailed from exc
        if tls:
            stages.stages.append(Stage("TLS", True, 0.0, "negotiated while connecting"))
        stages.stages.append(Stage("authenticate", True, elapsed_ms(started)))
        return conn
