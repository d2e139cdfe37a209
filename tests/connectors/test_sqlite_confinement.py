"""SQLite connectors open files inside their organization's data folder only: a corpus of escapes, refused on
save and on use (escapes into another organization's folder: ``test_sqlite_isolation``)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from connectors import catalog, runtime, values
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout

pytestmark = pytest.mark.django_db

SQLITE = catalog.type_class("sqlite")


@pytest.fixture
def data_dir(settings, tmp_path, org):
    """The organization's folder, with files in it and links around it."""
    folder = tmp_path / "data" / f"org-{org.pk}"
    (folder / "sub").mkdir(parents=True)
    sqlite3.connect(folder / "ok.sqlite3").close()
    sqlite3.connect(folder / "sub" / "nested.sqlite3").close()
    outside = tmp_path / "outside.sqlite3"
    sqlite3.connect(outside).close()
    os.symlink(outside, folder / "link-out.sqlite3")
    os.symlink(tmp_path, folder / "dir-link")
    os.symlink(folder / "ok.sqlite3", folder / "link-in.sqlite3")
    settings.ERPFLOW_DATA_DIR = tmp_path / "data"
    return folder


@pytest.mark.parametrize(
    "path",
    [
        "../outside.sqlite3",
        "sub/../../outside.sqlite3",
        "..",
        "/etc/passwd",
        "/tmp/x.sqlite3",
        "../ok.sqlite3",
        "link-out.sqlite3",
        "dir-link/outside.sqlite3",
        "",
        ".",
        "file:ok.sqlite3?mode=rwc",
        ":memory:",
        "ok.sqlite3\x00.txt",
    ],
)
def test_a_path_leaving_the_data_folder_is_refused_on_save(data_dir, org, path):
    with pytest.raises(values.SettingsInvalid) as refused:
        values.clean(SQLITE, {"path": path}, organization=org)
    assert "path" in refused.value.errors


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_the_apps_own_database_is_refused_even_inside_the_data_folder(settings, data_dir, org):
    """As under ``make run``: erpflow on SQLite, with the data folder around its database file."""
    own = data_dir / "erpflow.sqlite3"
    sqlite3.connect(own).close()
    settings.DATABASES = {**settings.DATABASES, "embedded": {"ENGINE": "django.db.backends.sqlite3", "NAME": own}}
    for path in ("erpflow.sqlite3", str(own), "erpflow.sqlite3-wal"):
        with pytest.raises(values.SettingsInvalid) as refused:
            values.clean(SQLITE, {"path": path}, organization=org)
        assert "own database" in refused.value.errors["path"]


@pytest.mark.parametrize("path", ["ok.sqlite3", "sub/nested.sqlite3", "link-in.sqlite3"])
def test_a_path_inside_the_data_folder_is_accepted(data_dir, org, path):
    assert values.clean(SQLITE, {"path": path}, organization=org)["path"] == path


def test_an_absolute_path_inside_the_data_folder_is_accepted(data_dir, org):
    path = str(data_dir / "ok.sqlite3")
    assert values.clean(SQLITE, {"path": path}, organization=org)["path"] == path


def test_a_link_that_appears_after_saving_is_refused_when_the_file_opens(data_dir, database_connector, org):
    from accounts.models import Environment

    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    connector = database_connector("sqlite", {"path": "later.sqlite3", "create_missing": True}, [sandbox])
    os.symlink(data_dir.parent / "outside.sqlite3", data_dir / "later.sqlite3")
    with pytest.raises(ConnectorError, match="inside the organization.s data folder"):
        runtime.call(connector, sandbox, "SELECT 1 AS one", {}, Deadline(2000))
    assert not Path(data_dir / "later.sqlite3").resolve().is_relative_to(data_dir)


def test_a_missing_file_is_an_error_unless_creating_is_allowed(data_dir, database_connector, org):
    from accounts.models import Environment

    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    missing = database_connector("sqlite", {"path": "nope.sqlite3"}, [sandbox])
    with pytest.raises(ConnectorError, match="no database file 'nope.sqlite3'"):
        runtime.call(missing, sandbox, "SELECT 1 AS one", {}, Deadline(2000))
    assert not (data_dir / "nope.sqlite3").exists()

    created = database_connector("sqlite", {"path": "sub/new.sqlite3", "create_missing": True}, [sandbox])
    runtime.call(created, sandbox, "CREATE TABLE t (id INTEGER, name TEXT)", {}, Deadline(2000))
    inserted = runtime.call(created, sandbox, "INSERT INTO t VALUES (:p1, :p2)", {"p1": 1, "p2": "a'b"}, Deadline(2000))
    assert inserted == {"rows": [], "rowcount": 1}
    assert runtime.call(created, sandbox, "SELECT * FROM t", {}, Deadline(2000))["rows"] == [{"id": 1, "name": "a'b"}]
    assert (data_dir / "sub" / "new.sqlite3").is_file()


def test_a_long_sqlite_statement_is_interrupted_at_the_deadline(data_dir, database_connector, org):
    from accounts.models import Environment

    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    connector = database_connector("sqlite", {"path": "ok.sqlite3"}, [sandbox])
    endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
    with pytest.raises(StepTimeout, match="SQLite interrupted it"):
        runtime.call(connector, sandbox, endless, {}, Deadline(300))
    assert runtime.call(connector, sandbox, "SELECT 2 AS two", {}, Deadline(2000))["rows"] == [{"two": 2}]
