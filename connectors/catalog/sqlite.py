"""SQLite files inside the configured data folder, for local data and the demo.

The path is confined to ``ERPFLOW_DATA_DIR``: no ``..``, no absolute path elsewhere, no symbolic
link leading out, and never erpflow's own database, checked when the settings are saved and again
each time a connection opens (a link may appear after saving). Connections come from a
``SimplePool`` with the same three settings as the server databases. A statement's time limit is
enforced inside SQLite by a progress handler that interrupts it once the deadline has passed.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings as django_settings

from connectors.catalog import register
from connectors.catalog.base import ConnectorError, ConnectorType, Deadline, Field, TestResult
from connectors.catalog.database import (
    StageFailed,
    Stages,
    check_pool,
    fetched,
    first_line,
    pool_fields,
    time_left_ms,
    timed_out,
)
from connectors.simplepool import SimplePool

PROGRESS_EVERY = 1000  # SQLite virtual machine instructions between deadline checks
SIDE_FILES = ("-wal", "-shm", "-journal")


def data_dir() -> Path:
    return Path(django_settings.ERPFLOW_DATA_DIR).resolve()


def app_database_files() -> set[Path]:
    """erpflow's own SQLite database and its side files, when it runs on SQLite."""
    found = set()
    for db in django_settings.DATABASES.values():
        if "sqlite" in db.get("ENGINE", "") and str(db.get("NAME", "")) not in ("", ":memory:"):
            main = Path(db["NAME"]).resolve()
            found |= {main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)}
    return found


def confined(raw: str) -> Path:
    """The real path of ``raw`` inside the data folder; ValueError saying why it is refused."""
    if not raw or not raw.strip():
        raise ValueError("Enter the path of a database file inside the data folder.")
    if "\x00" in raw or raw.startswith("file:") or raw.strip() == ":memory:":
        raise ValueError("Enter a plain file path (no NUL character, no 'file:' URI, no ':memory:').")
    path = Path(raw.strip())
    if ".." in path.parts:
        raise ValueError("The path may not contain '..'; give it relative to the data folder.")
    folder = data_dir()
    real = (path if path.is_absolute() else folder / path).resolve()
    if real == folder or not real.is_relative_to(folder):
        raise ValueError(f"The file must be inside the data folder ({folder}); links leading out are refused too.")
    if real in app_database_files():
        raise ValueError("erpflow's own database cannot be opened by a connector.")
    return real


@register
class SQLiteType(ConnectorType):
    key = "sqlite"
    label = "SQLite file"
    category = "database"
    icon = "sqlite"
    description = "A SQLite database file in erpflow's data folder: local data and demos, no server needed."
    language = "sql"
    paramstyle = "named"
    sql_dialect = "sqlite"
    fields = (
        Field(
            "path",
            "Database file",
            "Path of the file, relative to erpflow's data folder (ERPFLOW_DATA_DIR).",
            kind="path",
            required=True,
            max=255,
        ),
        Field(
            "create_missing",
            "Create when missing",
            "Create an empty database when the file does not exist yet; off, a missing file is an error.",
            kind="bool",
            default=False,
        ),
        *pool_fields(min_idle=1, max_pool=5),
    )

    def check(self, values: dict) -> dict[str, str]:
        errors = check_pool(values)
        if values.get("path") is not None:
            try:
                confined(values["path"])
            except ValueError as problem:
                errors["path"] = str(problem)
        return errors

    def connect(self, settings: dict, timeout: float = 5.0) -> sqlite3.Connection:
        try:
            path = confined(settings["path"])
        except ValueError as problem:
            raise ConnectorError(str(problem)) from None
        mode = "rw"
        if settings.get("create_missing"):
            mode = "rwc"
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            raise ConnectorError(f"there is no database file '{settings['path']}' in the data folder")
        try:
            return sqlite3.connect(
                f"file:{quote(str(path))}?mode={mode}",
                uri=True,
                timeout=timeout,
                check_same_thread=False,  # the pool lends a connection to one thread at a time
                isolation_level=None,
            )
        except sqlite3.Error as exc:
            raise ConnectorError(f"the database file '{settings['path']}' cannot be opened: {exc}") from None

    def test(self, settings: dict) -> TestResult:
        stages = Stages()
        conn = None
        try:
            stages.run("check path", lambda: confined(settings["path"]), first_line)
            conn = stages.run("open file", lambda: self.connect(settings), first_line)
            stages.run(
                "trivial statement",
                lambda: conn.execute("SELECT count(*) FROM sqlite_master").fetchall(),
                lambda exc: f"the file is not a usable SQLite database: {first_line(exc)}",
            )
        except StageFailed:
            return stages.failed()
        finally:
            if conn is not None:
                conn.close()
        return stages.passed(f"Opened {settings['path']} in the data folder.")

    def open(self, settings: dict, *, name: str = "erpflow") -> SimplePool:
        return SimplePool(
            lambda timeout: self.connect(settings, timeout),
            min_idle=settings["min_idle"],
            max_size=settings["max_pool"],
            idle_timeout=settings["idle_timeout_ms"] / 1000,
            connect_timeout=5.0,
            is_alive=lambda conn: True,
            name=name,
        )

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        left = time_left_ms(deadline) / 1000
        at = deadline.at
        client.set_progress_handler(lambda: time.monotonic() >= at, PROGRESS_EVERY)
        client.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
        cursor = client.cursor()
        try:
            cursor.execute(instruction, params)
            return fetched(cursor)
        except sqlite3.OperationalError as exc:
            if "interrupted" in str(exc) or time.monotonic() >= at:
                raise timed_out(left * 1000, "SQLite interrupted it") from None
            raise ConnectorError(str(exc)) from None
        except sqlite3.Error as exc:
            raise ConnectorError(str(exc)) from None
        finally:
            cursor.close()
            client.set_progress_handler(None, 0)
