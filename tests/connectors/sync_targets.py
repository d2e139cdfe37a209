"""Tables to sync into on the real databases of this machine: PostgreSQL, MariaDB and a SQLite file.

``target`` (a fixture of the sync tests) gives a connector of the given kind and a direct driver
connection to look at the table behind erpflow's back. Each test gets its own table name, dropped
afterwards: the servers are shared with the rest of the suite.
"""

from __future__ import annotations

import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pymysql
import pytest

KINDS = ("postgres", "mysql", "sqlite")
CUSTOMERS = (
    "CREATE TABLE {t} (customer_no VARCHAR(20) NOT NULL PRIMARY KEY, name VARCHAR(100), city VARCHAR(100), "
    "source VARCHAR(10), deleted INTEGER NOT NULL DEFAULT 0)"
)


@dataclass
class Target:
    kind: str
    connector: Any
    conn: Any
    table: str
    paramstyle: str

    def sql(self, text: str, params: tuple = ()) -> list[tuple]:
        text = text.replace("{t}", self.table)
        if self.paramstyle == "qmark":
            cursor = self.conn.execute(text, params)
            return cursor.fetchall()
        with self.conn.cursor() as cursor:
            cursor.execute(text.replace("?", "%s"), params)
            return list(cursor.fetchall()) if cursor.description else []

    def rows(self) -> dict[str, tuple]:
        """customer_no -> (name, city, source, deleted)."""
        found = self.sql("SELECT customer_no, name, city, source, deleted FROM {t} ORDER BY customer_no")
        return {row[0]: tuple(row[1:]) for row in found}

    def insert(self, *rows: tuple) -> None:
        for row in rows:
            self.sql("INSERT INTO {t} (customer_no, name, city, source, deleted) VALUES (?, ?, ?, ?, ?)", row)


def make_target(kind: str, database_connector, environment, *, postgres_url=None, mysql_url=None, data_dir=None):
    table = f"sync_{uuid.uuid4().hex[:10]}"
    if kind == "postgres":
        parts = urlsplit(postgres_url)
        conn = psycopg.connect(postgres_url, autocommit=True)
        settings = {"host": parts.hostname, "port": parts.port or 5432, "database": parts.path.lstrip("/")}
        settings["username"] = parts.username or "postgres"
        target = Target(kind, None, conn, table, "format")
    elif kind == "mysql":
        parts = urlsplit(mysql_url)
        database = parts.path.lstrip("/")
        conn = pymysql.connect(
            host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
            password=parts.password or "", database=database, autocommit=True,
        )  # fmt: skip
        settings = {"host": parts.hostname, "port": parts.port or 3306, "database": database}
        settings["username"] = parts.username or "root"
        target = Target(kind, None, conn, table, "format")
    else:
        settings = {"path": "sync.db", "create_missing": True}
        target = Target(kind, None, None, table, "qmark")
    target.connector = database_connector(kind, {**settings, "min_idle": 0, "max_pool": 3}, [environment])
    if kind == "sqlite":
        folder = data_dir / f"org-{target.connector.organization_id}"
        folder.mkdir(parents=True, exist_ok=True)
        target.conn = sqlite3.connect(folder / "sync.db", isolation_level=None, check_same_thread=False)
    target.sql(CUSTOMERS)
    return target


def drop(target: Target) -> None:
    target.sql("DROP TABLE IF EXISTS {t}")
    target.conn.close()


@pytest.fixture(params=KINDS)
def target(request, database_connector, sandbox, data_dir):
    """A customers table on PostgreSQL, MariaDB and SQLite in turn (import it into a test module)."""
    kind = request.param
    urls = {}
    if kind == "postgres":
        urls["postgres_url"] = request.getfixturevalue("postgres_url")
    elif kind == "mysql":
        urls["mysql_url"] = request.getfixturevalue("mysql_url")
    made = make_target(kind, database_connector, sandbox, data_dir=data_dir, **urls)
    yield made
    drop(made)
