"""SQLite files inside the organization's own folder of the data folder, for local data and the demo.

Each organization has its folder, ``<ERPFLOW_DATA_DIR>/org-<id>/``, and a connector's path is read
inside it: no ``..``, no absolute path elsewhere, no symbolic link leading out (into another
organization's folder either), and never erpflow's own database, checked when the settings are saved
and again each time a connection opens (a link may appear after saving). The settings know their
organization through ``ORGANIZATION`` (``per_organization``).

A statement may only use its own file. Every connection refuses, through SQLite's authorizer and
its limits: ATTACH and DETACH (no other database is ever attached, not even for a moment), and so
VACUUM (which works through an attached database; VACUUM INTO writes a copy anywhere),
``load_extension()`` and the pragmas listed in ``REFUSED_PRAGMAS``; a refusal is the step's error.
Other pragmas are allowed: they only touch this connection or its own file.

Connections come from a ``SimplePool`` with the same three settings as the server databases. A
statement's time limit is enforced inside SQLite by a progress handler that interrupts it once the
deadline has passed, and a locked file is waited for (``busy_timeout``) until then. A bulk step
(``for_each_row``) runs its rows with ``executemany`` inside ``BEGIN IMMEDIATE`` ... ``COMMIT``: the
write lock is taken at once, so two writers wait for each other instead of failing on the upgrade.
An error's extended result code becomes the failure a retry policy reads (``ERRORS``; a locked
database is "lock_timeout").
"""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings as django_settings

from connectors.catalog import register
from connectors.catalog.base import (
    ORGANIZATION,
    ConnectorError,
    ConnectorType,
    Deadline,
    Field,
    StepTimeout,
    TestResult,
)
from connectors.catalog.database import (
    BulkRows,
    StageFailed,
    Stages,
    check_pool,
    database_error,
    fetched,
    first_line,
    in_batches,
    pool_fields,
    rolled_back,
    time_left_ms,
    timed_out,
)
from connectors.simplepool import SimplePool

PROGRESS_EVERY = 1000  # SQLite virtual machine instructions between deadline checks
SIDE_FILES = ("-wal", "-shm", "-journal")
NOT_ALLOWED = "is not allowed on a SQLite connector"
REFUSED_PRAGMAS = {
    "writable_schema": "it lets a statement rewrite the schema table itself",
    "temp_store_directory": "it puts temporary files in any folder",
    "data_store_directory": "it puts database files in any folder",
    "soft_heap_limit": "it changes the memory limit of the whole process, other organizations' connections too",
    "hard_heap_limit": "it changes the memory limit of the whole process, other organizations' connections too",
}
LOCKED = ("SQLITE_BUSY", "SQLITE_LOCKED")  # with their extended forms (SQLITE_BUSY_SNAPSHOT, ...)
ERRORS = {
    "SQLITE_CONSTRAINT_UNIQUE": "unique_violation",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique_violation",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign_key_violation",
    "SQLITE_CONSTRAINT_NOTNULL": "not_null_violation",
    "SQLITE_CONSTRAINT_CHECK": "check_violation",
}
VACUUM = re.compile(r"\A(?:\s|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*VACUUM\b", re.IGNORECASE | re.DOTALL)


def data_dir() -> Path:
    return Path(django_settings.ERPFLOW_DATA_DIR).resolve()


def organization_folder(organization_id: int) -> Path:
    """The organization's own folder: named by its id, which never changes nor comes back for another."""
    return (data_dir() / f"org-{int(organization_id)}").resolve()


def app_database_files() -> set[Path]:
    """erpflow's own SQLite database and its side files, when it runs on SQLite."""
    found = set()
    for db in django_settings.DATABASES.values():
        if "sqlite" in db.get("ENGINE", "") and str(db.get("NAME", "")) not in ("", ":memory:"):
            main = Path(db["NAME"]).resolve()
            found |= {main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)}
    return found


def confined(raw: str, organization_id: int | None) -> Path:
    """The real path of ``raw`` inside the organization's folder; ValueError saying why it is refused."""
    if organization_id is None:
        raise ValueError("The organization of these settings is not known, so their file cannot be found.")
    if not raw or not raw.strip():
        raise ValueError("Enter the path of a database file inside the organization's data folder.")
    if "\x00" in raw or raw.startswith("file:") or raw.strip() == ":memory:":
        raise ValueError("Enter a plain file path (no NUL character, no 'file:' URI, no ':memory:').")
    path = Path(raw.strip())
    if ".." in path.parts:
        raise ValueError("The path may not contain '..'; give it relative to the organization's data folder.")
    folder = organization_folder(organization_id)
    real = (path if path.is_absolute() else folder / path).resolve()
    if real == folder or not real.is_relative_to(folder):
        raise ValueError(
            f"The file must be inside the organization's data folder ({folder}); links leading out are refused too."
        )
    if real in app_database_files():
        raise ValueError("erpflow's own database cannot be opened by a connector.")
    return real


class GuardedConnection(sqlite3.Connection):
    """A connection whose authorizer refuses what reaches beyond its file, remembering why for the error."""

    refused: str | None = None

    def guard(self) -> None:
        self.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        if hasattr(self, "enable_load_extension"):  # only where Python was built with extension loading
            self.enable_load_extension(False)
        self.set_authorizer(self.authorize)

    def authorize(self, action: int, arg1: str | None, arg2: str | None, database: str | None, source) -> int:
        if action == sqlite3.SQLITE_ATTACH:
            self.refused = "ATTACH"
        elif action == sqlite3.SQLITE_DETACH:
            self.refused = "DETACH"
        elif action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
            self.refused = "load_extension"
        elif action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in REFUSED_PRAGMAS:
            self.refused = f"PRAGMA {arg1.lower()}"
        else:
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    def refusal(self, instruction: str) -> str:
        """The step's error for the refusal of ``instruction``."""
        what = self.refused or ""
        if what == "ATTACH" and VACUUM.match(instruction):
            return (
                f"VACUUM {NOT_ALLOWED}: it works through an attached database, and VACUUM INTO writes a copy of "
                "the file anywhere; compact the file outside erpflow."
            )
        if what == "ATTACH":
            return f"ATTACH {NOT_ALLOWED}: a statement may only use the connector's own database file."
        if what == "DETACH":
            return f"DETACH {NOT_ALLOWED}: no other database is ever attached."
        if what == "load_extension":
            return f"load_extension() {NOT_ALLOWED}: an extension would run native code inside erpflow."
        return f"{what} {NOT_ALLOWED}: {REFUSED_PRAGMAS[what.removeprefix('PRAGMA ')]}."


@register
class SQLiteType(BulkRows, ConnectorType):
    key = "sqlite"
    label = "SQLite file"
    category = "database"
    icon = "sqlite"
    description = "A SQLite database file in the organization's data folder: local data and demos, no server needed."
    language = "sql"
    paramstyle = "named"
    sql_dialect = "sqlite"
    per_organization = True
    fields = (
        Field(
            "path",
            "Database file",
            "Path of the file, relative to the organization's own folder in erpflow's data folder.",
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
                confined(values["path"], values.get(ORGANIZATION))
            except ValueError as problem:
                errors["path"] = str(problem)
        return errors

    def connect(self, settings: dict, timeout: float = 5.0) -> sqlite3.Connection:
        try:
            path = confined(settings["path"], settings.get(ORGANIZATION))
        except ValueError as problem:
            raise ConnectorError(str(problem)) from None
        mode = "rw"
        if settings.get("create_missing"):
            mode = "rwc"
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.is_file():
            raise ConnectorError(f"there is no database file '{settings['path']}' in the organization's data folder")
        try:
            conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode={mode}",
                uri=True,
                timeout=timeout,
                check_same_thread=False,  # the pool lends a connection to one thread at a time
                isolation_level=None,
                factory=GuardedConnection,
            )
        except sqlite3.Error as exc:
            raise ConnectorError(f"the database file '{settings['path']}' cannot be opened: {exc}") from None
        conn.guard()
        return conn

    def test(self, settings: dict) -> TestResult:
        stages = Stages()
        conn = None
        try:
            stages.run("check path", lambda: confined(settings["path"], settings.get(ORGANIZATION)), first_line)
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
        return stages.passed(f"Opened {settings['path']} in the organization's data folder.")

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
        left = self.limit(client, deadline)
        cursor = client.cursor()
        try:
            cursor.execute(instruction, params)
            return fetched(cursor)
        except sqlite3.Error as exc:
            raise self.error_of(exc, client, instruction, deadline, left) from None
        finally:
            cursor.close()
            client.set_progress_handler(None, 0)

    def execute_many(self, client, instruction, rows, deadline: Deadline, options: dict, batch_size: int):
        left = self.limit(client, deadline)
        cursor = client.cursor()

        def run(batch: list, start: int) -> int:
            cursor.executemany(instruction, batch)
            return cursor.rowcount

        try:
            cursor.execute("BEGIN IMMEDIATE")
            output = in_batches(rows, batch_size, deadline, run)
            cursor.execute("COMMIT")
            return output
        except (sqlite3.Error, StepTimeout) as exc:
            if client.in_transaction:
                client.set_progress_handler(None, 0)  # the rollback must run even when the time is up
                cursor.execute("ROLLBACK")
            if isinstance(exc, StepTimeout):
                raise rolled_back(exc) from None
            raise rolled_back(self.error_of(exc, client, instruction, deadline, left)) from None
        finally:
            cursor.close()
            client.set_progress_handler(None, 0)

    @staticmethod
    def limit(client, deadline: Deadline) -> float:
        """Bound the connection's next statements by the deadline; the seconds left."""
        left = time_left_ms(deadline) / 1000
        at = deadline.at
        client.set_progress_handler(lambda: time.monotonic() >= at, PROGRESS_EVERY)
        client.execute(f"PRAGMA busy_timeout = {int(left * 1000)}")
        client.refused = None
        return left

    @staticmethod
    def error_of(exc: sqlite3.Error, client, instruction: str, deadline: Deadline, left: float) -> ConnectorError:
        """The step's error: a refusal, a timeout, or a database error with its failure. A file still
        locked when the wait ran out says so (a lock timeout), rather than just that time ran out."""
        if client.refused:
            return ConnectorError(client.refusal(instruction))
        code = getattr(exc, "sqlite_errorname", None)
        locked = bool(code) and code.startswith(LOCKED)
        if isinstance(exc, sqlite3.OperationalError) and not locked and ("interrupted" in str(exc) or deadline.expired):
            return timed_out(left * 1000, "SQLite interrupted it")
        return database_error(str(exc), code, {**ERRORS, code: "lock_timeout"} if locked else ERRORS)
