"""Connectors through the API: create, list with filters, read, update, revisions, secrets kept, delete."""

from __future__ import annotations

import pytest

from connectors import catalog
from connectors.models import Connector, ConnectorSettings
from core import crypto, masking
from tests.connectors.conftest import SECRET

pytestmark = pytest.mark.django_db


def stored(connector_id: int, env: str = "sandbox") -> dict:
    return ConnectorSettings.objects.get(connector_id=connector_id, environment__slug=env).values


def test_the_catalog_lists_every_type_with_its_declared_fields(api):
    response = api.get("/api/v1/connector-types/")
    assert response.status_code == 200
    by_key = {entry["key"]: entry for entry in response.json()}
    assert set(by_key) == {cls.key for cls in catalog.all_types()}
    postgres = catalog.type_class("postgres")
    assert by_key["postgres"] == postgres.describe()
    assert [f["name"] for f in by_key["postgres"]["fields"]] == [f.name for f in postgres.fields]
    password = next(f for f in by_key["postgres"]["fields"] if f["name"] == "password")
    assert password["secret"] is True
    assert api.get("/api/v1/connector-types/postgres/").json()["label"] == postgres.label
    assert api.get("/api/v1/connector-types/mongo/").status_code == 404


def test_creating_answers_the_connector_with_its_secret_masked(create_connector, pg_values, org):
    body = create_connector(
        name="Warehouse", version="2.1", description="Stock levels", tags=["erp", " stock ", "erp"], concurrency_limit=4
    )
    assert (body["name"], body["version"], body["description"]) == ("Warehouse", "2.1", "Stock levels")
    assert body["tags"] == ["erp", "stock"]
    assert body["concurrency_limit"] == 4
    assert body["type"] == "postgres" and body["type_label"] == "PostgreSQL"
    assert body["settings"]["sandbox"]["password"] == masking.MASK
    assert body["settings"]["sandbox"]["host"] == pg_values["host"]
    assert body["used_by"] == 0
    assert body["last_tests"] == {"sandbox": None}
    connector = Connector.objects.get(pk=body["id"])
    assert connector.organization == org
    assert crypto.decrypt(stored(connector.pk)["password"]) == SECRET


def test_a_stored_password_is_not_sent_to_a_new_host_without_being_entered_again(create_connector, api, pg_values):
    body = create_connector()
    url = f"/api/v1/connectors/{body['id']}/"
    token = stored(body["id"])["password"]
    moved = {"sandbox": {"host": "collector.attacker.example", "password": masking.MASK}}
    response = api.patch(url, {"settings": moved}, format="json")
    assert response.status_code == 400
    assert "Host changed, so enter the password again" in response.json()["detail"]
    assert stored(body["id"])["password"] == token and stored(body["id"])["host"] == pg_values["host"]
    borrowing = {**pg_values, **moved["sandbox"]}
    unsaved = {"type": "postgres", "environment": "sandbox", "connector": body["id"], "settings": borrowing}
    response = api.post("/api/v1/connectors/test/", unsaved, format="json")
    assert "enter the password again" in response.json()["detail"]
    assert response.status_code == 400, "an unsaved test cannot borrow the saved password for another host either"


def test_the_list_filters_by_type_tag_environment_and_text(create_connector, api, pg_values, production):
    create_connector(name="Orders DB", tags=["erp"], description="the order book")
    create_connector(name="Stock DB", tags=["stock"], settings={"production": pg_values})
    create_connector(name="Ledger", type="mysql", tags=["erp", "finance"], settings={"sandbox": {**pg_values}})

    def names(query: str) -> list[str]:
        response = api.get(f"/api/v1/connectors/?{query}")
        assert response.status_code == 200
        return [c["name"] for c in response.json()["results"]]

    assert names("") == ["Ledger", "Orders DB", "Stock DB"]
    assert names("type=mysql") == ["Ledger"]
    assert names("tag=erp") == ["Ledger", "Orders DB"]
    assert names("tag=er") == []
    assert names("environment=production") == ["Stock DB"]
    assert names("environment=Production") == ["Stock DB"]
    assert names(f"environment={production.pk}") == ["Stock DB"]
    assert names("environment=staging") == []
    assert names("q=order") == ["Orders DB"]
    assert names("q=DB&tag=stock") == ["Stock DB"]


def test_the_list_is_paginated(create_connector, api):
    for n in range(3):
        create_connector(name=f"C{n}")
    body = api.get("/api/v1/connectors/?limit=2").json()
    assert body["count"] == 3
    assert [c["name"] for c in body["results"]] == ["C0", "C1"]
    assert body["next"]


def test_an_edit_that_sends_the_mask_or_omits_the_secret_keeps_it(create_connector, api, pg_values):
    body = create_connector()
    url = f"/api/v1/connectors/{body['id']}/"
    token = stored(body["id"])["password"]
    masked = {**pg_values, "password": masking.MASK, "database": "postgres"}
    response = api.put(url, {"name": body["name"], "type": "postgres", "settings": {"sandbox": masked}}, format="json")
    assert response.status_code == 200, response.content
    assert stored(body["id"])["password"] == token
    assert stored(body["id"])["database"] == "postgres"
    without = {k: v for k, v in pg_values.items() if k != "password"}
    api.put(url, {"name": body["name"], "type": "postgres", "settings": {"sandbox": without}}, format="json")
    assert crypto.decrypt(stored(body["id"])["password"]) == SECRET
    api.patch(url, {"settings": {"sandbox": {"password": "a-new-one"}}}, format="json")
    assert crypto.decrypt(stored(body["id"])["password"]) == "a-new-one"


def test_patch_changes_only_what_it_names(create_connector, api, pg_values):
    body = create_connector(description="kept", tags=["a"], settings={"sandbox": {**pg_values, "max_pool": 7}})
    url = f"/api/v1/connectors/{body['id']}/"
    response = api.patch(url, {"version": "3", "settings": {"sandbox": {"min_idle": 2}}}, format="json")
    assert response.status_code == 200, response.content
    changed = response.json()
    assert (changed["version"], changed["description"], changed["tags"]) == ("3", "kept", ["a"])
    assert changed["settings"]["sandbox"]["min_idle"] == 2
    assert changed["settings"]["sandbox"]["max_pool"] == 7
    assert changed["settings"]["sandbox"]["host"] == pg_values["host"]
    assert crypto.decrypt(stored(body["id"])["password"]) == SECRET


def test_patch_adds_an_environment_and_removes_one_sent_as_null(create_connector, api, pg_values):
    body = create_connector()
    url = f"/api/v1/connectors/{body['id']}/"
    added = api.patch(url, {"settings": {"production": pg_values}}, format="json").json()
    assert added["environments"] == ["sandbox", "production"]
    removed = api.patch(url, {"settings": {"sandbox": None}}, format="json").json()
    assert removed["environments"] == ["production"]
    last = api.patch(url, {"settings": {"production": None}}, format="json")
    assert last.status_code == 400
    assert ConnectorSettings.objects.filter(connector_id=body["id"]).count() == 1


def test_put_replaces_the_set_of_environments(create_connector, api, pg_values):
    body = create_connector(settings={"sandbox": pg_values, "production": pg_values})
    response = api.put(
        f"/api/v1/connectors/{body['id']}/",
        {"name": body["name"], "type": "postgres", "settings": {"production": pg_values}},
        format="json",
    )
    assert response.json()["environments"] == ["production"]


def test_every_change_bumps_the_revision_and_a_no_op_does_not(create_connector, api, pg_values):
    body = create_connector()
    url = f"/api/v1/connectors/{body['id']}/"

    def revision() -> int:
        return Connector.objects.get(pk=body["id"]).revision

    assert revision() == 1
    assert api.patch(url, {"description": "now described"}, format="json").json()["revision"] == 2
    api.patch(url, {"settings": {"sandbox": {"max_pool": 9}}}, format="json")
    assert revision() == 3
    api.patch(url, {"settings": {"production": pg_values}}, format="json")
    assert revision() == 4
    api.patch(url, {"tags": ["x"]}, format="json")
    assert revision() == 5
    api.patch(url, {"description": "now described", "settings": {"sandbox": {"password": masking.MASK}}}, format="json")
    assert revision() == 5


def test_a_settings_change_forgets_the_last_test_made_with_the_old_values(create_connector, api):
    body = create_connector()
    passed = {"ok": True, "message": "", "stages": []}
    ConnectorSettings.objects.filter(connector_id=body["id"]).update(last_test=passed)
    assert api.get(f"/api/v1/connectors/{body['id']}/").json()["last_tests"]["sandbox"]["ok"] is True
    api.patch(f"/api/v1/connectors/{body['id']}/", {"settings": {"sandbox": {"max_pool": 8}}}, format="json")
    assert api.get(f"/api/v1/connectors/{body['id']}/").json()["last_tests"] == {"sandbox": None}


def test_deleting_an_unused_connector_removes_it_with_its_settings(create_connector, api):
    body = create_connector()
    assert api.delete(f"/api/v1/connectors/{body['id']}/").status_code == 204
    assert not Connector.objects.filter(pk=body["id"]).exists()
    assert not ConnectorSettings.objects.filter(connector_id=body["id"]).exists()


def test_the_list_costs_the_same_number_of_queries_for_few_or_many_connectors(create_connector, api, pg_values):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get("/api/v1/connectors/").status_code == 200
        return len(captured)

    create_connector(settings={"sandbox": pg_values, "production": pg_values})
    few = queries()
    for _ in range(5):
        create_connector(settings={"sandbox": pg_values, "production": pg_values})
    assert queries() == few
