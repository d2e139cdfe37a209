"""Testing connection settings on the real PostgreSQL and MariaDB servers: staged answers, never a secret.

The local PostgreSQL trusts every connection from 127.0.0.1, so a wrong password cannot fail
there; MariaDB checks passwords, so the wrong-password case runs against it. On PostgreSQL a role
that may not sign in and an unknown user stand for the authentication failures.
"""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from accounts.models import Variable
from connectors import catalog, runtime, values
from connectors.models import ConnectorSettings
from tests.connectors.conftest import closed_port

pytestmark = pytest.mark.django_db

PASSWORD = "Pa55-never-in-an-answer"
ALL_STAGES = ["resolve host", "open TCP", "authenticate", "trivial statement", "owner and role"]


def answer(type_key: str, incoming: dict, environment) -> dict:
    stored = values.clean(catalog.type_class(type_key), incoming)
    result = runtime.test(type_key, stored, environment).as_dict()
    text = json.dumps(result)
    assert PASSWORD not in text, "the password never appears in an answer"
    secret = incoming.get("password") or ""
    if secret and "{{" not in secret:
        assert secret not in text
    return result


def failed_stage(result: dict) -> tuple[str, str]:
    assert result["ok"] is False
    assert all(stage["ok"] for stage in result["stages"][:-1]), "the stages before the failing one passed"
    last = result["stages"][-1]
    assert last["ok"] is False
    assert result["message"] == f"{last['name']} failed: {last['message']}"
    return last["name"], last["message"]


@pytest.fixture
def pg_role(postgres_url):
    """Make roles on the PostgreSQL server for one test; they are dropped afterwards."""
    made: list[str] = []
    conn = psycopg.connect(postgres_url, autocommit=True)

    def make(*options: str) -> str:
        name = f"erpflow_{uuid.uuid4().hex[:8]}"
        conn.execute(f"CREATE ROLE {name} {' '.join(options)}")
        made.append(name)
        return name

    yield make
    for name in made:
        conn.execute(f"DROP ROLE IF EXISTS {name}")
    conn.close()


# -- PostgreSQL ------------------------------------------------------------------------------------


def test_postgres_settings_that_work_pass_every_stage_with_durations(pg_settings, sandbox):
    result = answer("postgres", {**pg_settings, "password": PASSWORD}, sandbox)
    assert result["ok"] is True, result
    assert [s["name"] for s in result["stages"]] == ALL_STAGES
    assert all(s["ok"] and s["duration_ms"] >= 0 for s in result["stages"])
    assert result["message"].startswith("Connected to PostgreSQL at 127.0.0.1:")


@pytest.mark.parametrize(
    ("change", "stage", "words"),
    [
        ({"host": "no-such-host.invalid"}, "resolve host", "'no-such-host.invalid' cannot be resolved"),
        ({"port": "closed"}, "open TCP", "nothing answers on 127.0.0.1 port"),
        ({"username": "nobody_here"}, "authenticate", "authentication failed for user 'nobody_here'"),
        ({"database": "no_such_db_p"}, "authenticate", "database 'no_such_db_p' does not exist"),
        ({"owner": "no_such_schema"}, "owner and role", "schema 'no_such_schema' does not exist"),
        ({"role": "no_such_role_p"}, "owner and role", "role 'no_such_role_p' does not exist"),
        ({"ssl_mode": "require"}, "TLS", "check the SSL mode"),
    ],
)
def test_postgres_failures_name_the_stage_and_what_to_fix(pg_settings, sandbox, change, stage, words):
    if change.get("port") == "closed":
        change = {"port": closed_port()}
    result = answer("postgres", {**pg_settings, "password": PASSWORD, **change}, sandbox)
    name, message = failed_stage(result)
    assert name == stage
    assert words in message


def test_a_role_that_may_not_sign_in_fails_authentication(pg_settings, sandbox, pg_role):
    role = pg_role("NOLOGIN")
    name, message = failed_stage(answer("postgres", {**pg_settings, "username": role, "password": PASSWORD}, sandbox))
    assert (name, message) == ("authenticate", f"authentication failed for user '{role}': this role may not sign in")


def test_owner_and_role_are_checked_and_applied(pg_settings, sandbox, pg_role, postgres_url):
    user = pg_role("LOGIN")
    member_of = pg_role("NOLOGIN")
    stranger = pg_role("NOLOGIN")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"GRANT {member_of} TO {user}")
    ok = answer("postgres", {**pg_settings, "username": user, "owner": "pg_catalog", "role": member_of}, sandbox)
    assert ok["ok"] is True, ok
    name, message = failed_stage(answer("postgres", {**pg_settings, "username": user, "role": stranger}, sandbox))
    assert name == "owner and role"
    assert message == f"user '{user}' is not a member of role '{stranger}': grant it, or clear the Role field"


def test_a_missing_variable_is_named_and_nothing_is_tried(pg_settings, sandbox):
    stored = values.clean(catalog.type_class("postgres"), {**pg_settings, "host": "{{ env.DB_HOST }}"})
    result = runtime.test("postgres", stored, sandbox).as_dict()
    assert result["ok"] is False
    assert [s["name"] for s in result["stages"]] == ["resolve settings"]
    assert "DB_HOST" in result["message"] and "Sandbox" in result["message"]


def test_a_saved_connector_keeps_its_last_answer(database_connector, pg_settings, sandbox):
    connector = database_connector("postgres", {**pg_settings, "owner": "no_such_schema"}, [sandbox])
    result = runtime.test_connector(connector, sandbox)
    row = ConnectorSettings.objects.get(connector=connector, environment=sandbox)
    assert result.ok is False
    assert row.last_test == result.as_dict()
    assert row.last_tested is not None


# -- MariaDB ---------------------------------------------------------------------------------------


def test_mariadb_settings_that_work_pass_with_a_password_from_a_secret_variable(mysql_account, sandbox, org):
    account, _ = mysql_account
    variable = Variable(organization=org, environment=sandbox, key="DB_PASSWORD", secret=True)
    variable.set_value(account["password"])
    variable.save()
    result = answer("mysql", {**account, "password": "{{ env.DB_PASSWORD }}"}, sandbox)
    assert result["ok"] is True, result
    assert [s["name"] for s in result["stages"]] == ALL_STAGES
    assert account["password"] not in json.dumps(result)


@pytest.mark.parametrize(
    ("change", "stage", "words"),
    [
        (
            {"password": PASSWORD},
            "authenticate",
            "authentication failed for user '{user}': check Username and Password",
        ),
        ({"database": "no_such_db_p"}, "authenticate", "'no_such_db_p'"),
        ({"owner": "no_such_schema"}, "owner and role", "schema 'no_such_schema' does not exist"),
        ({"role": "no_such_role_p"}, "owner and role", "role 'no_such_role_p' cannot be set for user"),
        ({"port": "closed"}, "open TCP", "nothing answers on 127.0.0.1 port"),
        ({"ssl_mode": "require"}, "TLS", "the encrypted connection failed"),
    ],
)
def test_mariadb_failures_name_the_stage_and_what_to_fix(mysql_account, sandbox, change, stage, words):
    account, _ = mysql_account
    if change.get("port") == "closed":
        change = {"port": closed_port()}
    result = answer("mysql", {**account, **change}, sandbox)
    name, message = failed_stage(result)
    assert name == stage
    assert words.format(user=account["username"]) in message
    assert account["password"] not in json.dumps(result)


def test_a_password_pasted_into_another_field_is_masked_in_the_answer(pg_settings, sandbox):
    result = answer("postgres", {**pg_settings, "database": PASSWORD, "password": PASSWORD}, sandbox)
    name, message = failed_stage(result)
    assert (name, message) == (
        "authenticate",
        "database '••••••••' does not exist on the server: check the Database field",
    )
