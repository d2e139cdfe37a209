"""Which delivery holds a running execution: the claim that takes it, the heartbeats that keep it.

A delivery runs an execution under a lease token it took when claiming it. While it runs, a
per-process thread refreshes the execution's heartbeat; a heartbeat older than ``lease_seconds``
means the worker is gone, so a redelivery may claim the execution again, the stranded sweep
(``flows.stranded``) sends it again and the watchdog (``flows.tasks.fail_vanished``) ends it.
The engine itself checks between steps that the lease is still its own (``flows.engine``).
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from accounts.models import Environment
from core import bound_statements
from flows.models import Execution, FlowVersion

logger = logging.getLogger("erpflow.engine")  # the heartbeats are the engine's, as far as an operator reads logs

Status = Execution.Status


def lease_seconds() -> float:
    """How old a running execution's heartbeat may be before another delivery may take it over."""
    return 3 * settings.ERPFLOW_EXECUTION_HEARTBEAT_SECONDS


class _Claim:
    """Takes an execution for one delivery and reads it back in the same statement (``UPDATE ...
    RETURNING``, which PostgreSQL and SQLite, the two databases erpflow runs on, both have): the
    claim, not a second query, tells the engine what it runs. The row comes back with the
    ``created`` time of its version, which with the version's id names the engine's cached plan,
    and with its environment, which a connector step needs (read in the same statement, it costs
    no query of its own).

    The claim counts a delivery and takes a fresh lease. An execution is claimable when queued, when
    running with a heartbeat older than the lease (its worker is gone) or none at all, or when waiting
    (``flows.parking``) and due; resuming a waiting execution is not counted as a delivery, so a flow
    that pauses often is not mistaken for one that kills its workers.
    """

    def __init__(self):
        self.sql: str | None = None
        self.converters: list[tuple[int, list, object]] = []

    def statement(self) -> str:
        if self.sql is None:
            quote = connection.ops.quote_name
            table, versions = quote(Execution._meta.db_table), quote(FlowVersion._meta.db_table)
            column = {f.name: quote(f.column) for f in Execution._meta.concrete_fields}
            returned = ", ".join(f"{table}.{name}" for name in column.values())
            environments = quote(Environment._meta.db_table)
            returned += "".join(
                f", (SELECT {environments}.{quote(field.column)} FROM {environments} "  # noqa: S608 - names only
                f"WHERE {environments}.{quote('id')} = {table}.{column['environment']})"
                for field in _ENVIRONMENT_FIELDS
            )
            self.sql = (
                f"UPDATE {table} SET {column['status']} = %s, "  # noqa: S608
                f"{column['attempts']} = {column['attempts']} + CASE WHEN {column['status']} = %s THEN 0 ELSE 1 END, "
                f"{column['lease']} = %s, {column['heartbeat']} = %s, "
                f"{column['started']} = COALESCE({column['started']}, %s) "
                f"WHERE {column['id']} = %s AND ({column['status']} = %s OR ({column['status']} = %s AND "
                f"({column['heartbeat']} < %s OR {column['heartbeat']} IS NULL)) OR "
                f"({column['status']} = %s AND {column['resume_at']} <= %s)) "
                f"RETURNING {returned}, (SELECT {versions}.{quote('created')} FROM {versions} "
                f"WHERE {versions}.{quote('id')} = {table}.{column['version']})"
            )
            self.converters = _converters(
                [*_EXECUTION_FIELDS, *_ENVIRONMENT_FIELDS, FlowVersion._meta.get_field("created")]
            )
        return self.sql

    def __call__(self, execution_id: int, lease: str) -> Execution | None:
        """The claimed execution, or None when it is not claimable (final, or under a live lease).

        The statement is bound on the server and prepared once per connection (``core.bound_statements``);
        the row is built with ``from_db``, through the converters Django's compiler would apply: a raw
        queryset works out the same column order and converters on every call, which cost a worker
        more than the statement itself."""
        now = timezone.now()
        moment = Execution._meta.get_field("heartbeat")
        stale = moment.get_db_prep_value(now - timedelta(seconds=lease_seconds()), connection)
        now = moment.get_db_prep_value(now, connection)
        # Plain strings: psycopg looks a str subclass (a TextChoices member) up its classes on every call.
        running, waiting, queued = str(Status.RUNNING.value), str(Status.WAITING.value), str(Status.QUEUED.value)
        params = [running, waiting, lease, now, now, execution_id, queued, running, stale, waiting, now]
        with bound_statements.cursor(connection) as cursor:
            cursor.execute(self.statement(), params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for index, converters, expression in self.converters:
            for converter in converters:
                row[index] = converter(row[index], expression, connection)
        count = len(_EXECUTION_FIELDS)
        execution = Execution.from_db(connection.alias, _EXECUTION_NAMES, row[:count])
        environment = Environment.from_db(connection.alias, _ENVIRONMENT_NAMES, row[count:-1])
        Execution._meta.get_field("environment").set_cached_value(execution, environment)
        execution.version_created = row[-1]
        return execution


def _converters(fields: list) -> list[tuple[int, list, object]]:
    """(position, converters, column) for each returned field whose database value Django converts."""
    found = []
    for index, field in enumerate(fields):
        column = field.get_col(field.model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if converters:
            found.append((index, converters, column))
    return found


# The claim answers every column of the execution, then of its environment, then its version's ``created``.
_EXECUTION_FIELDS = Execution._meta.concrete_fields
_EXECUTION_NAMES = [field.attname for field in _EXECUTION_FIELDS]
_ENVIRONMENT_FIELDS = Environment._meta.concrete_fields
_ENVIRONMENT_NAMES = [field.attname for field in _ENVIRONMENT_FIELDS]


claim = _Claim()


def claimed_fields(lease: str) -> dict:
    """The fields of an execution created already claimed under ``lease`` (first delivery, fresh
    heartbeat): what ``claim`` would have written, without its UPDATE. A creator that dies before
    running it leaves it running without heartbeats, which the stranded sweep sends to the workers."""
    now = timezone.now()
    return {"status": Status.RUNNING, "attempts": 1, "lease": lease, "heartbeat": now, "started": now}


def release(execution_id: int, lease: str) -> bool:
    """Give a running execution back to the queue (the delivery holding ``lease`` stops between two
    steps and the workers take the rest); False when this delivery no longer holds it. It counts as
    just sent, so the stranded sweep leaves it to the message its releaser sends next."""
    return (
        Execution.objects.filter(pk=execution_id, lease=lease, status=Status.RUNNING).update(
            status=Status.QUEUED, lease="", heartbeat=None, resent=timezone.now()
        )
        == 1
    )


class _Heartbeats:
    """One thread per process refreshing the heartbeat of every execution this process is running.

    It wakes every ``TICK`` seconds and beats the executions whose last beat is older than
    ``ERPFLOW_EXECUTION_HEARTBEAT_SECONDS``; with nothing running it closes its database connection.
    """

    TICK = 0.25

    def __init__(self):
        self.lock = threading.Lock()
        self.running: dict[int, tuple[str, float]] = {}
        self.thread: threading.Thread | None = None

    @contextmanager
    def beating(self, execution_id: int, lease: str):
        with self.lock:
            self.running[execution_id] = (lease, time.monotonic())
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self.loop, name="erpflow-execution-heartbeat", daemon=True)
                self.thread.start()
        try:
            yield
        finally:
            with self.lock:
                self.running.pop(execution_id, None)

    def loop(self) -> None:
        while True:
            time.sleep(self.TICK)
            interval = settings.ERPFLOW_EXECUTION_HEARTBEAT_SECONDS
            now = time.monotonic()
            with self.lock:
                due = {pk: lease for pk, (lease, last) in self.running.items() if now - last >= interval}
                idle = not self.running
            if idle:
                connection.close()
                continue
            try:
                for execution_id, lease in due.items():
                    Execution.objects.filter(pk=execution_id, lease=lease, status=Status.RUNNING).update(
                        heartbeat=timezone.now()
                    )
                    with self.lock:
                        if execution_id in self.running:
                            self.running[execution_id] = (lease, now)
            except Exception as exc:
                logger.warning("could not record execution heartbeats: %s", type(exc).__name__)
                connection.close()


heartbeats = _Heartbeats()
