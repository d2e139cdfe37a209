"""Several statements on one pooled connection of a SQL connector, some of them in a transaction.

``runtime.call`` runs one statement per borrowed connection; a sync step and schema introspection
need a few on the same connection (and a transaction around some). ``session`` follows the same
path as ``runtime.call``: the live pool of the environment, a slot under the connector's
concurrency limit, a connection borrowed inside the deadline, and every statement through the
type's own ``execute``, so each one runs under the driver's time limit with what is left of the
deadline. Errors leave as ``ConnectorError`` (``StepTimeout`` past the deadline) with the
settings' secrets masked.

A transaction (``Session.transaction``) uses each driver's own way, since every pool lends its
connections in autocommit: psycopg's ``transaction()``, PyMySQL's ``begin``/``commit``, SQLite's
``BEGIN IMMEDIATE`` (the write lock first, so two writers wait for each other instead of one
failing at once as "database is locked") and python-oracledb's ``autocommit`` switched off and back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connectors import pools, runtime
from connectors.catalog.base import ConnectorError, Deadline
from connectors.catalog.database import time_left_ms

logger = logging.getLogger("erpflow.connectors")


class Session:
    def __init__(self, live: pools.LivePool, client: Any, deadline: Deadline):
        self.live = live
        self.client = client
        self.deadline = deadline
        self.dialect = live.connector_type.sql_dialect
        self.options, _ = live.connector_type.step_option_values(None)

    def run(self, text: str, params: dict) -> dict:
        """One statement: ``{"rows": [...], "rowcount": n}`` as a connector step answers it."""
        return self.live.connector_type.execute(self.client, text, params, self.deadline, self.options)

    def tuples(self, text: str, params: dict) -> list[tuple]:
        """The rows of one statement as tuples in column order (names differ in case between databases); the
        statement's column names must differ from each other, since ``run`` answers each row as a dict."""
        return [tuple(row.values()) for row in self.run(text, params)["rows"]]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit what the block ran, or roll it back when it raises."""
        client = self.client
        if self.dialect == "postgresql":
            try:
                with client.transaction():
                    yield
            except BaseException:
                # The statement timeout the type set inside the transaction was rolled back with it.
                client.erpflow_statement_timeout = None
                raise
        elif self.dialect == "mysql":
            client.begin()
            yield from _finish(client.commit, client.rollback)
        elif self.dialect == "sqlite":
            client.execute(f"PRAGMA busy_timeout = {time_left_ms(self.deadline)}")
            client.execute("BEGIN IMMEDIATE")
            yield from _finish(lambda: client.execute("COMMIT"), lambda: client.execute("ROLLBACK"))
        elif self.dialect == "oracle":
            client.autocommit = False
            try:
                yield from _finish(client.commit, client.rollback)
            finally:
                client.autocommit = True
        else:
            raise ConnectorError(f"transactions are not supported on '{self.dialect}' connections")


def _finish(commit, rollback) -> Iterator[None]:
    try:
        yield
    except BaseException:
        try:
            rollback()
        except Exception as exc:  # the connection broke; the pool replaces it, the first error is what counts
            logger.warning("rolling back a sync transaction failed: %s", type(exc).__name__)
        raise
    commit()


@contextmanager
def session(connector, environment, deadline: Deadline) -> Iterator[Session]:
    """A ``Session`` on a connection of ``connector`` in ``environment``, returned to its pool afterwards."""
    live = pools.get(connector, environment)
    if live.connector_type.sql_dialect is None:
        raise ConnectorError(
            f"Connector '{connector.name}' is a {live.connector_type.label} connector; this needs a SQL database."
        )
    with runtime.borrowed(connector, environment, deadline, live) as (live, client):
        yield Session(live, client, deadline)
