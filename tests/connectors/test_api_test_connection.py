"""Connection tests through the API against the local PostgreSQL server: staged answers, never a 500 or a secret.

Each stage's failures are tested on the runtime (test_test_connection.py); here the API's side: the
answer, its status, what is kept. The local PostgreSQL server trusts every connection from 127.0.0.1,
so a wrong password is tested on MariaDB, with a user of the test's own that has a real password.
"""

from __future__ import annotations

import json

import pytest

from accounts.models import Variable
from connectors.models import ConnectorSettings
from core import masking
from tests.connectors.conftest import SECRET, closed_port

pytestmark = pytest.mark.django_db


def stage_names(answer: dict) -> list[str]:
    return [stage["name"] for stage in answer["stages"]]


def test_a_saved_connector_passes_its_test_and_the_answer_is_kept(create_connector, api):
    body = create_connector()
    response = api.post(f"/api/v1/connectors/{body['id']}/test/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is True, answer
    assert stage_names(answer) == ["resolve host", "open TCP", "authenticate", "trivial statement", "owner and role"]
    assert all(stage["ok"] and stage["duration_ms"] >= 0 for stage in answer["stages"])
    kept = api.get(f"/api/v1/connectors/{body['id']}/").json()["last_tests"]["sandbox"]
    assert kept["ok"] is True and kept["tested"]
    assert SECRET not in response.content.decode()


def test_a_failing_test_is_a_staged_answer_naming_what_to_fix_and_is_kept(create_connector, api, pg_values):
    port = closed_port()
    body = create_connector(settings={"sandbox": {**pg_values, "port": port}})
    response = api.post(f"/api/v1/connectors/{body['id']}/test/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is False
    assert [(stage["name"], stage["ok"]) for stage in answer["stages"]] == [("resolve host", True), ("open TCP", False)]
    assert f"nothing answers on {pg_values['host']} port {port}" in answer["stages"][-1]["message"]
    assert SECRET not in response.content.decode()
    assert ConnectorSettings.objects.get(connector_id=body["id"]).last_test == answer


def test_testing_an_environment_without_settings_is_a_clear_400(create_connector, api):
    body = create_connector()
    missing = api.post(f"/api/v1/connectors/{body['id']}/test/", {"environment": "production"}, format="json")
    assert missing.status_code == 400
    assert "no settings for 'production'" in missing.json()["errors"]["environment"][0]
    unknown = api.post(f"/api/v1/connectors/{body['id']}/test/", {"environment": "moon"}, format="json")
    assert unknown.status_code == 400
    assert "Unknown environment 'moon'" in unknown.json()["errors"]["environment"][0]


def test_unsaved_settings_are_tested_before_saving(api, pg_values):
    response = api.post(
        "/api/v1/connectors/test/",
        {"type": "postgres", "environment": "sandbox", "settings": pg_values},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert SECRET not in response.content.decode()


def test_unsaved_settings_that_cannot_be_stored_are_a_400_naming_the_field(api, pg_values):
    response = api.post(
        "/api/v1/connectors/test/",
        {"type": "postgres", "environment": "sandbox", "settings": {**pg_values, "host": "", "port": 0}},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["settings"]
    assert set(errors) == {"host", "port"}
    bad_type = api.post(
        "/api/v1/connectors/test/", {"type": "mongo", "environment": "sandbox", "settings": {}}, format="json"
    )
    assert bad_type.status_code == 400 and "mongo" in bad_type.json()["errors"]["type"][0]


def test_environment_variables_resolve_in_the_chosen_environment(api, pg_values, org, sandbox, production):
    Variable.objects.create(organization=org, environment=sandbox, key="PG_USER", value=pg_values["username"])
    body = {
        "type": "postgres",
        "settings": {**pg_values, "username": "{{ env.PG_USER }}"},
    }
    passed = api.post("/api/v1/connectors/test/", {**body, "environment": "sandbox"}, format="json").json()
    assert passed["ok"] is True, passed
    missing = api.post("/api/v1/connectors/test/", {**body, "environment": "production"}, format="json").json()
    assert missing["ok"] is False
    assert "PG_USER" in missing["message"] and "Production" in missing["message"]


def test_a_wrong_password_fails_at_authenticate_on_mariadb(api, mysql_account):
    account, _ = mysql_account
    body = {"name": "Ledger", "type": "mysql", "settings": {"sandbox": {**account, "password": "not-the-password"}}}
    created = api.post("/api/v1/connectors/", body, format="json").json()
    response = api.post(f"/api/v1/connectors/{created['id']}/test/", {"environment": "sandbox"}, format="json")
    assert response.status_code == 200
    answer = response.json()
    assert answer["ok"] is False
    assert (answer["stages"][-1]["name"], answer["stages"][-1]["ok"]) == ("authenticate", False)
    assert account["username"] in answer["stages"][-1]["message"]
    assert "not-the-password" not in response.content.decode()
    fixed = api.patch(
        f"/api/v1/connectors/{created['id']}/",
        {"settings": {"sandbox": {"password": account["password"]}}},
        format="json",
    )
    assert fixed.status_code == 200
    again = api.post(f"/api/v1/connectors/{created['id']}/test/", {"environment": "sandbox"}, format="json").json()
    assert again["ok"] is True, again
    assert account["password"] not in json.dumps(again)


def test_an_unsaved_test_of_an_edit_borrows_the_saved_secret_for_the_mask(api, mysql_account):
    account, _ = mysql_account
    created = api.post(
        "/api/v1/connectors/", {"name": "Ledger", "type": "mysql", "settings": {"sandbox": account}}, format="json"
    ).json()
    masked = {**account, "password": masking.MASK}
    unsaved = {"type": "mysql", "environment": "sandbox", "settings": masked}
    borrowed = api.post("/api/v1/connectors/test/", {**unsaved, "connector": created["id"]}, format="json").json()
    assert borrowed["ok"] is True, borrowed
    alone = api.post("/api/v1/connectors/test/", unsaved, format="json").json()
    assert alone["ok"] is False
    assert alone["stages"][-1]["name"] == "authenticate"


def test_an_unsaved_test_may_only_borrow_from_a_connector_of_its_type(create_connector, api, pg_values):
    body = create_connector()
    response = api.post(
        "/api/v1/connectors/test/",
        {"type": "mysql", "environment": "sandbox", "settings": pg_values, "connector": body["id"]},
        format="json",
    )
    assert response.status_code == 400
    assert "is of type 'postgres'" in response.json()["errors"]["connector"][0]
