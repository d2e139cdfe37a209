"""SQLite files of one organization are out of another's reach, and SQL cannot reach other files.

Organization A (Acme, ``api``) has the demo database; organization B (Other Corp, ``outsider_api``)
tries to reach A's file through the API: on save, with the saved and unsaved connection tests and in
a flow run. Then, inside one organization, a statement tries to leave its file: ATTACH (a path, a
``file:`` URI), VACUUM INTO, ``load_extension()`` and pragmas that reach files or other tenants.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from accounts.models import Environment
from connectors import demo, pools
from connectors.models import Connector, ConnectorSettings
from flows import engine
from tests.flows.builders import graph, sql

pytestmark = pytest.mark.django_db

A_CUSTOMER = "Nordwind Handels GmbH"


@pytest.fixture(autouse=True)
def closed_pools():
    yield
    pools.close_all()


@pytest.fixture
def a_file(org, owner, data_dir) -> Path:
    """Where A's demo database of the sandbox is, wherever the installation keeps it."""
    demo.build(org, owner)
    [found] = Path(data_dir).rglob(f"{org.slug}-sandbox.sqlite3")
    return found


def create(client, path: str, *, name: str = "Stolen", status: int | None = 201, **more) -> dict | None:
    body = {"name": name, "type": "sqlite", "settings": {"sandbox": {"path": path, **more}}}
    response = client.post("/api/v1/connectors/", body, format="json")
    if status is not None:
        assert response.status_code == status, response.content
    return response.json()


def run_sql(client, connector_id: int, statement: str, slug: str = "probe") -> dict:
    """Draft-run a one-step flow calling ``statement`` on the connector; answers its step as the API shows it."""
    if client.get(f"/api/v1/flows/{slug}/").status_code == 404:
        assert client.post("/api/v1/flows/", {"name": slug, "slug": slug}, format="json").status_code == 201
    draft = client.put(f"/api/v1/flows/{slug}/draft/", graph([sql("q", connector_id, statement)]), format="json")
    assert draft.status_code == 200, draft.content
    started = client.post(f"/api/v1/flows/{slug}/run/", {"payload": {}}, format="json")
    assert started.status_code == 202, started.content
    engine.run(started.json()["id"])
    [step] = client.get(f"/api/v1/executions/{started.json()['id']}/").json()["steps"]
    return step


def b_folder(outsider_api, data_dir) -> Path:
    """B's own folder, found where a file B creates lands."""
    mine = create(outsider_api, "mine.sqlite3", name="Mine", create_missing=True)
    assert outsider_api.post(f"/api/v1/connectors/{mine['id']}/test/", {"environment": "sandbox"}).json()["ok"]
    [found] = Path(data_dir).rglob("mine.sqlite3")
    return found.parent


# -- one organization's files, another organization's paths ----------------------------------------


def test_a_path_into_another_organizations_folder_is_refused_on_save(a_file, outsider_api, data_dir):
    relative_to_data = a_file.relative_to(Path(data_dir).resolve())
    for path in (str(a_file), f"../{relative_to_data}", f"../../{relative_to_data}"):
        refused = create(outsider_api, path, status=400)
        assert "path" in refused["errors"]["settings"]["sandbox"], path
    assert not Connector.objects.filter(name="Stolen").exists()


def test_a_path_into_another_organizations_folder_is_refused_by_the_unsaved_test(a_file, outsider_api):
    body = {"type": "sqlite", "environment": "sandbox", "settings": {"path": str(a_file)}}
    response = outsider_api.post("/api/v1/connectors/test/", body, format="json")
    assert response.status_code == 400, response.content
    assert "path" in response.json()["errors"]["settings"]


def test_the_same_relative_path_is_a_file_of_ones_own_folder(a_file, org, outsider_api):
    """A's demo path, typed by B, names B's own (missing) file: B never sees A's customers."""
    a_path = ConnectorSettings.objects.get(
        connector__organization=org, connector__name="Demo database", environment__slug="sandbox"
    ).values["path"]
    stolen = create(outsider_api, a_path)
    tested = outsider_api.post(f"/api/v1/connectors/{stolen['id']}/test/", {"environment": "sandbox"}).json()
    assert tested["ok"] is False and "no database file" in tested["message"]
    step = run_sql(outsider_api, stolen["id"], "SELECT name FROM customers")
    assert step["status"] == "failed" and A_CUSTOMER not in str(step["output"])


def test_a_link_in_ones_folder_into_another_organizations_folder_is_refused(a_file, outsider_api, data_dir):
    folder = b_folder(outsider_api, data_dir)
    os.symlink(a_file, folder / "link.sqlite3")
    refused = create(outsider_api, "link.sqlite3", status=400)
    assert "path" in refused["errors"]["settings"]["sandbox"]


def test_a_link_that_appears_after_saving_is_refused_by_the_saved_test_and_the_run(a_file, outsider_api, data_dir):
    folder = b_folder(outsider_api, data_dir)
    later = create(outsider_api, "later.sqlite3", name="Later")
    os.symlink(a_file, folder / "later.sqlite3")

    tested = outsider_api.post(f"/api/v1/connectors/{later['id']}/test/", {"environment": "sandbox"}).json()
    assert tested["ok"] is False and "folder" in tested["message"]
    step = run_sql(outsider_api, later["id"], "SELECT name FROM customers")
    assert step["status"] == "failed", step
    assert "folder" in step["error"] and A_CUSTOMER not in str(step["output"])


def test_a_path_saved_before_folders_existed_is_refused_when_it_opens(a_file, other_org, outsider_api):
    """A row written before this check (as an old installation has them) is judged again at open."""
    connector = Connector.objects.create(organization=other_org, type_key="sqlite", name="Old")
    sandbox = Environment.objects.get(organization=other_org, slug="sandbox")
    stored = {"path": str(a_file), "create_missing": False, "min_idle": 1, "max_pool": 5, "idle_timeout_ms": 600000}
    ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=stored)

    tested = outsider_api.post(f"/api/v1/connectors/{connector.pk}/test/", {"environment": "sandbox"}).json()
    assert tested["ok"] is False
    step = run_sql(outsider_api, connector.pk, "SELECT name FROM customers")
    assert step["status"] == "failed" and A_CUSTOMER not in str(step["output"])


def test_the_demo_database_lives_in_the_demo_organizations_own_folder(a_file, org, outsider_api, data_dir):
    folder = b_folder(outsider_api, data_dir)
    assert a_file.parent.parent != folder
    assert not a_file.is_relative_to(folder) and not folder.is_relative_to(a_file.parent.parent)
    assert a_file.parent.parent != Path(data_dir).resolve(), "the demo is in A's folder, not the shared root"


# -- SQL that reaches other files -------------------------------------------------------------------


@pytest.fixture
def own(api) -> int:
    """A's connector on a file of its own, one connection in its pool (so a second run reuses it)."""
    created = create(api, "own.sqlite3", name="Own", create_missing=True, min_idle=1, max_pool=1)
    step = run_sql(api, created["id"], "CREATE TABLE t (id INTEGER)")
    assert step["status"] == "succeeded", step
    return created["id"]


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A SQLite file outside every organization's folder (as erpflow's own database is)."""
    path = tmp_path / "elsewhere.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE secrets (value TEXT)")
        db.execute("INSERT INTO secrets VALUES ('top secret')")
    db.close()
    return path


def attached(api, connector_id: int) -> list[str]:
    step = run_sql(api, connector_id, "SELECT name FROM pragma_database_list ORDER BY seq", slug="list")
    assert step["status"] == "succeeded", step
    return [row["name"] for row in step["output"]["rows"]]


@pytest.mark.parametrize(
    "statement",
    [
        "ATTACH DATABASE '{elsewhere}' AS x",
        "ATTACH '{other_org_file}' AS x",
        "ATTACH DATABASE 'file:{elsewhere}?mode=ro' AS x",
        "ATTACH DATABASE 'file:{other_org_file}' AS x",
        "ATTACH DATABASE ':memory:' AS x",
        "ATTACH DATABASE '' AS x",
    ],
)
def test_attach_is_refused_and_leaves_nothing_on_the_pooled_connection(api, own, elsewhere, a_file, statement):
    step = run_sql(api, own, statement.format(elsewhere=elsewhere, other_org_file=a_file))
    assert step["status"] == "failed", step
    assert "ATTACH is not allowed on a SQLite connector" in step["error"]
    assert attached(api, own) == ["main"]
    step = run_sql(api, own, "SELECT value FROM x.secrets")
    assert step["status"] == "failed" and "top secret" not in str(step["output"])


def test_detach_is_refused(api, own):
    step = run_sql(api, own, "DETACH DATABASE x")
    assert step["status"] == "failed" and "DETACH is not allowed on a SQLite connector" in step["error"]


@pytest.mark.parametrize("statement", ["VACUUM INTO '{target}'", "VACUUM main INTO 'file:{target}'", "VACUUM"])
def test_vacuum_is_refused_and_writes_no_file(api, own, tmp_path, statement):
    target = tmp_path / "copy.sqlite3"
    step = run_sql(api, own, statement.format(target=target))
    assert step["status"] == "failed", step
    assert "VACUUM is not allowed on a SQLite connector" in step["error"]
    assert not target.exists()
    assert attached(api, own) == ["main"]


@pytest.mark.parametrize("statement", ["SELECT load_extension('/usr/lib/x.so')", "SELECT LOAD_EXTENSION('x', 'y')"])
def test_load_extension_is_refused(api, own, statement):
    step = run_sql(api, own, statement)
    assert step["status"] == "failed", step
    assert "load_extension() is not allowed on a SQLite connector" in step["error"]


@pytest.mark.parametrize(
    "statement",
    [
        "PRAGMA writable_schema = ON",
        "PRAGMA temp_store_directory = '/tmp'",
        "PRAGMA soft_heap_limit = 1",
        "PRAGMA hard_heap_limit = 1",
    ],
)
def test_pragmas_reaching_files_or_the_whole_process_are_refused(api, own, statement):
    step = run_sql(api, own, statement)
    assert step["status"] == "failed", step
    assert "is not allowed on a SQLite connector" in step["error"]


def test_ordinary_statements_and_harmless_pragmas_still_work(api, own):
    for statement in (
        "INSERT INTO t VALUES (1)",
        "PRAGMA foreign_keys = ON",
        "PRAGMA table_info(t)",
        "SELECT count(*) AS n, upper('a') AS a FROM t",
    ):
        step = run_sql(api, own, statement)
        assert step["status"] == "succeeded", (statement, step)
    assert step["output"]["rows"] == [{"n": 1, "a": "A"}]
