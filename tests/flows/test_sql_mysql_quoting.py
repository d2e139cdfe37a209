"""MySQL and MariaDB read quotes their own way: a payload never leaves its value on a MariaDB connector.

PyMySQL writes each bound value into the statement text as an escaped literal, so a ``{{ }}`` that
the check believed outside a string, but that MariaDB reads inside one, hands the payload to the
server as SQL. These tests drive the exploits of issue 13 through the API on a real MariaDB
connector: a backslash before a quote (``'x\\'``), which MariaDB reads as an escaped quote and
standard SQL as the end of the string, and the text of a ``/*! */`` comment, which MariaDB runs.
"""

from __future__ import annotations

import json
import uuid

import pytest

from flows import engine
from flows.models import Deployment, Execution, Flow, FlowVersion, StepRun
from tests.flows.builders import graph, sql
from tests.flows.test_sql_injection import mariadb_connection

pytestmark = pytest.mark.django_db

SECRET = f"secret-{uuid.uuid4().hex}"
BACKSLASH = "SELECT 'x\\' AS a, {{ trigger.payload.v }} AS b, '' AS c"
# MariaDB runs the text of /*! */: there 'x */, ' is a string and the value lands after it.
EXECUTABLE_COMMENT = "SELECT 1 AS a /*! , 'x */, {{ trigger.payload.v }} AS b /* ' */"
EXPLOITS = {
    BACKSLASH: "AS z UNION SELECT secret FROM {table} #",
    EXECUTABLE_COMMENT: "AS z UNION SELECT 1, secret FROM {table} */ #",
}


@pytest.fixture
def mariadb(mysql_url):
    """A direct connection to the test server, outside erpflow, and a table holding a secret row."""
    connection = mariadb_connection(mysql_url)
    table = f"dialect_secret_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {table} (secret text) CHARACTER SET utf8mb4")
        cursor.execute(f"INSERT INTO {table} VALUES (%s)", [SECRET])
    yield connection, table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
    connection.close()


@pytest.fixture
def connector(make_connector, mysql_url, sandbox):
    return make_connector("mysql", mysql_url, [sandbox], name="MariaDB")


@pytest.fixture
def flow(api, org):
    response = api.post("/api/v1/flows/", {"name": "Echo", "slug": "echo"}, format="json")
    assert response.status_code == 201, response.json()
    return Flow.objects.get(organization=org, slug="echo")


def trigger(api, slug: str, payload: dict) -> Execution:
    """Trigger through the REST API and run the execution here, as a worker would."""
    response = api.post(
        f"/api/v1/flows/{slug}/executions/",
        data=json.dumps({"environment": "sandbox", "payload": payload}),
        content_type="application/json",
    )
    assert response.status_code == 202, response.json()
    return engine.run(response.json()["id"])


def stored_as_before_the_check(flow: Flow, instruction: str, connector, sandbox, owner) -> None:
    """A version holding ``instruction`` deployed without validation, as an older release could have saved it."""
    version = FlowVersion.objects.create(
        flow=flow, number=1, graph=graph([sql("q", connector, instruction, name="Echo")]), message="old", author=owner
    )
    Deployment.objects.create(flow=flow, environment=sandbox, version=version, deployed_by=owner)


@pytest.mark.parametrize(
    ("instruction", "column", "words"),
    [(BACKSLASH, 8, "a backslash keeps the ' after it inside"), (EXECUTABLE_COMMENT, 15, "/*! */")],
    ids=["backslash", "executable-comment"],
)
def test_the_exploit_is_refused_when_saving_and_validating_with_line_and_column(
    api, flow, connector, instruction, column, words
):
    draft = graph([sql("q", connector, instruction, name="Echo")])

    response = api.put(f"/api/v1/flows/{flow.slug}/draft/", draft, format="json")

    assert response.status_code == 400, response.json()
    [problem] = [p for p in response.json()["problems"] if p["field"] == "instruction"]
    assert (problem["step"], problem["line"], problem["column"]) == ("q", 1, column)
    assert words in problem["message"]
    validation = api.post(f"/api/v1/flows/{flow.slug}/validate/", draft, format="json").json()
    assert validation["valid"] is False
    assert [p["message"] for p in validation["problems"]] == [problem["message"]]


def test_the_check_endpoint_answers_as_saving_does_for_the_connector_or_its_dialect(api, connector):
    url = "/api/v1/instructions/check/"
    for extra in ({"connector": connector.pk}, {"dialect": "mysql"}):
        response = api.post(url, {"language": "sql", "text": BACKSLASH, **extra}, format="json")
        assert response.status_code == 200, response.json()
        [problem] = response.json()["problems"]
        assert (problem["line"], problem["column"]) == (1, 8)
        assert "backslash" in problem["message"]
    # PostgreSQL reads 'x\' as a whole string, so the {{ }} after it is a value there.
    assert api.post(url, {"language": "sql", "text": BACKSLASH, "dialect": "postgresql"}, format="json").json() == {
        "language": "sql",
        "problems": [],
    }
    # Without a database, every database's reading applies, and the one that objects is named.
    [problem] = api.post(url, {"language": "sql", "text": BACKSLASH}, format="json").json()["problems"]
    assert problem["message"].startswith("MySQL/MariaDB: ")


def test_the_check_endpoint_refuses_a_dialect_for_another_language(api):
    response = api.post(
        "/api/v1/instructions/check/", {"language": "http", "text": "GET /", "dialect": "mysql"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["dialect"] == ["A dialect applies to SQL instructions only, not to http."]


def test_the_check_endpoint_refuses_a_connector_of_another_organization(api, make_connector, mysql_url, other_org):
    foreign = make_connector("mysql", mysql_url, [], name="Theirs", organization=other_org)
    response = api.post(
        "/api/v1/instructions/check/", {"language": "sql", "text": "SELECT 1", "connector": foreign.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["connector"] == [f"Connector {foreign.pk} does not exist in this organization."]


@pytest.mark.parametrize("instruction", [BACKSLASH, EXECUTABLE_COMMENT], ids=["backslash", "executable-comment"])
def test_a_version_saved_before_the_check_never_returns_another_tables_rows(
    api, flow, connector, mariadb, sandbox, owner, instruction
):
    _, table = mariadb
    stored_as_before_the_check(flow, instruction, connector, sandbox, owner)

    execution = trigger(api, flow.slug, {"v": EXPLOITS[instruction].format(table=table)})

    record = StepRun.objects.get(execution=execution)
    assert SECRET not in json.dumps(record.output), "the payload read another table"
    assert execution.status == Execution.Status.FAILED
    assert "backslash" in record.error or "/*!" in record.error


def test_a_backslash_written_for_both_server_modes_runs_and_the_payload_stays_a_value(api, flow, connector, mariadb):
    # 'x\\' ends at the same quote with and without NO_BACKSLASH_ESCAPES; '' is a quote everywhere.
    instruction = "SELECT 'x\\\\' AS a, {{ trigger.payload.v }} AS b, 'it''s' AS c # a comment with ' and \\\n"
    draft = graph([sql("q", connector, instruction, name="Echo")])
    assert api.put(f"/api/v1/flows/{flow.slug}/draft/", draft, format="json").status_code == 200
    assert api.post(f"/api/v1/flows/{flow.slug}/publish/", {"message": "v1"}, format="json").status_code == 201
    response = api.post(f"/api/v1/flows/{flow.slug}/deploy/", {"environment": "sandbox"}, format="json")
    assert response.status_code in (200, 201), response.json()
    _, table = mariadb
    payload = EXPLOITS[BACKSLASH].format(table=table) + " \\' \" -- /*! */"

    execution = trigger(api, flow.slug, {"v": payload})

    record = StepRun.objects.get(execution=execution)
    assert execution.status == Execution.Status.SUCCEEDED, record.error
    assert record.output["rows"] == [{"a": "x\\", "b": payload, "c": "it's"}]


def test_a_hash_comment_is_a_comment_on_mariadb(api, flow, connector, mariadb):
    draft = graph([sql("q", connector, "SELECT 1 AS a # {{ trigger.payload.v }}", name="Echo")])
    response = api.put(f"/api/v1/flows/{flow.slug}/draft/", draft, format="json")
    assert response.status_code == 400
    [problem] = response.json()["problems"]
    assert (problem["line"], problem["column"]) == (1, 17)
    assert "a {{ }} inside a comment is not bound as a parameter" in problem["message"]
