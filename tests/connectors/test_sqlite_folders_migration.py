"""The data migration that gives each organization's SQLite connectors their own folder.

An installation from before it has every organization's files in one shared folder: the migration
moves a file one organization used into its folder, copies a file several organizations used for
each of them, and leaves what it cannot judge where it is, saying so in the log. Afterwards each
organization's flows read their own file through the API.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
from pathlib import Path

import pytest
from django.apps import apps

from accounts.models import Environment
from connectors import pools
from connectors.models import Connector, ConnectorSettings
from tests.connectors.test_sqlite_isolation import run_sql

pytestmark = pytest.mark.django_db

migration = importlib.import_module("connectors.migrations.0002_sqlite_organization_folders")


@pytest.fixture(autouse=True)
def closed_pools():
    yield
    pools.close_all()


def database(path: Path, *names: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
        db.executemany("INSERT INTO customers VALUES (?)", [(name,) for name in names])
    db.close()
    return path


def old_connector(organization, name: str, path: str) -> Connector:
    """A connector saved before the folders existed, its path relative to (or inside) the shared folder."""
    connector = Connector.objects.create(organization=organization, type_key="sqlite", name=name)
    ConnectorSettings.objects.create(
        connector=connector,
        environment=Environment.objects.get(organization=organization, slug="sandbox"),
        values={"path": path, "create_missing": False, "min_idle": 1, "max_pool": 5, "idle_timeout_ms": 600000},
    )
    return connector


def names(client, connector: Connector) -> list[str]:
    step = run_sql(client, connector.pk, "SELECT name FROM customers ORDER BY name")
    assert step["status"] == "succeeded", step
    return [row["name"] for row in step["output"]["rows"]]


def test_files_move_into_their_organizations_folder_and_shared_ones_are_copied(
    org, other_org, api, outsider_api, data_dir, caplog
):
    root = Path(data_dir)
    shared = database(root / "shared.sqlite3", "Ada", "Bob")
    alone = database(root / "demo" / "alone.sqlite3", "Cy")
    (root / "demo" / "alone.sqlite3-wal").write_bytes(b"")
    a_shared = old_connector(org, "A shared", "shared.sqlite3")
    b_shared = old_connector(other_org, "B shared", "shared.sqlite3")
    a_alone = old_connector(org, "A alone", str(alone))
    referenced = old_connector(org, "Referenced", "{{ env.DB_FILE }}")
    missing = old_connector(org, "Missing", "nowhere.sqlite3")

    with caplog.at_level(logging.INFO, logger="erpflow.connectors"):
        migration.forward(apps, None)

    a_folder, b_folder = root / f"org-{org.pk}", root / f"org-{other_org.pk}"
    assert (a_folder / "shared.sqlite3").is_file() and (b_folder / "shared.sqlite3").is_file()
    assert shared.is_file(), "a file several organizations used stays where it was; each got a copy"
    assert (a_folder / "demo" / "alone.sqlite3").is_file() and (a_folder / "demo" / "alone.sqlite3-wal").is_file()
    assert not alone.exists() and not (root / "demo" / "alone.sqlite3-wal").exists()

    def path_of(connector):
        return ConnectorSettings.objects.get(connector=connector).values["path"]

    assert path_of(a_alone) == "demo/alone.sqlite3", "an absolute path becomes relative to the folder"
    assert (path_of(a_shared), path_of(b_shared)) == ("shared.sqlite3", "shared.sqlite3")
    assert (path_of(referenced), path_of(missing)) == ("{{ env.DB_FILE }}", "nowhere.sqlite3")

    log = caplog.text
    assert f"copied {shared}" in log and f"moved {alone}" in log
    assert "Referenced" in log and "variable" in log

    assert names(api, a_shared) == ["Ada", "Bob"] and names(outsider_api, b_shared) == ["Ada", "Bob"]
    assert names(api, a_alone) == ["Cy"]
    written = run_sql(outsider_api, b_shared.pk, "INSERT INTO customers VALUES ('only B')")
    assert written["status"] == "succeeded", written
    assert names(api, a_shared) == ["Ada", "Bob"], "B's copy is B's alone"


def test_an_existing_file_in_the_organizations_folder_is_never_overwritten(org, data_dir, caplog):
    root = Path(data_dir)
    database(root / "erp.sqlite3", "old shared")
    database(root / f"org-{org.pk}" / "erp.sqlite3", "already there")
    old_connector(org, "ERP", "erp.sqlite3")

    with caplog.at_level(logging.INFO, logger="erpflow.connectors"):
        migration.forward(apps, None)

    with sqlite3.connect(root / f"org-{org.pk}" / "erp.sqlite3") as db:
        assert db.execute("SELECT name FROM customers").fetchall() == [("already there",)]
    db.close()
    assert (root / "erp.sqlite3").is_file()
    assert "already" in caplog.text
