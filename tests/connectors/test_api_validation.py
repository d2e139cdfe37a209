"""The connector API refuses bad input with a 400 that names the field (and environment), and saves nothing."""

from __future__ import annotations

import pytest

from connectors import catalog
from connectors.models import Connector, ConnectorSettings
from core.masking import MASK

pytestmark = pytest.mark.django_db


def test_optional_fields_left_empty_take_their_defaults_and_the_answer_shows_them(create_connector, pg_values):
    body = create_connector(settings={"sandbox": {**pg_values, "port": "", "min_idle": None}})
    shown = body["settings"]["sandbox"]
    declared = {field.name: field.default for field in catalog.type_class("postgres").fields}
    assert shown["port"] == declared["port"] == 5432
    assert shown["min_idle"] == declared["min_idle"] == 5
    assert shown["max_pool"] == declared["max_pool"] == 20
    assert shown["idle_timeout_ms"] == declared["idle_timeout_ms"] == 600000
    stored = ConnectorSettings.objects.get(connector_id=body["id"]).values
    assert (stored["port"], stored["min_idle"], stored["max_pool"]) == (5432, 5, 20)
    assert body["environments"] == ["sandbox"]
    assert body["revision"] == 1


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"port": 0}, "port", "at least 1"),
        ({"port": 70000}, "port", "at most 65535"),
        ({"port": "abc"}, "port", "whole number"),
        ({"min_idle": 30, "max_pool": 10}, "min_idle", "pool size"),
        ({"max_pool": 0}, "max_pool", "at least 1"),
        ({"idle_timeout_ms": -1}, "idle_timeout_ms", "at least"),
        ({"ssl_mode": "sometimes"}, "ssl_mode", "not one of the choices"),
        ({"colour": "blue"}, "colour", "Unknown setting"),
        ({"host": ""}, "host", "required"),
    ],
)
def test_each_bad_setting_is_named_under_its_environment(api, pg_values, change, field, words):
    response = api.post(
        "/api/v1/connectors/",
        {"name": "Bad", "type": "postgres", "settings": {"sandbox": {**pg_values, **change}}},
        format="json",
    )
    assert response.status_code == 400
    message = " ".join(response.json()["errors"]["settings"]["sandbox"][field])
    assert words in message
    assert not Connector.objects.filter(name="Bad").exists()


def test_choosing_both_environments_needs_complete_settings_for_each(api, pg_values):
    response = api.post(
        "/api/v1/connectors/",
        {"name": "Both", "type": "postgres", "settings": {"sandbox": pg_values, "production": {"host": "db.prod"}}},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]["settings"]
    assert set(errors) == {"production"}
    assert errors["production"]["database"] == ["This field is required."]
    assert errors["production"]["username"] == ["This field is required."]
    assert "host" not in errors["production"]
    assert Connector.objects.count() == 0 and ConnectorSettings.objects.count() == 0


def test_a_connector_needs_at_least_one_environment(api):
    response = api.post("/api/v1/connectors/", {"name": "Nowhere", "type": "postgres", "settings": {}}, format="json")
    assert response.status_code == 400
    assert "at least one environment" in response.json()["errors"]["settings"][0]


def test_an_unknown_environment_is_named_with_the_ones_that_exist(api, pg_values):
    response = api.post(
        "/api/v1/connectors/", {"name": "X", "type": "postgres", "settings": {"staging": pg_values}}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["errors"]["settings"]["staging"][0]
    assert "Unknown environment 'staging'" in message and "sandbox, production" in message


def test_an_environment_may_be_given_by_its_name(create_connector, pg_values):
    body = create_connector(settings={"Production": pg_values})
    assert body["environments"] == ["production"]


def test_an_unknown_type_is_refused_with_the_catalog_listed(api, pg_values):
    response = api.post(
        "/api/v1/connectors/", {"name": "X", "type": "mongo", "settings": {"sandbox": pg_values}}, format="json"
    )
    assert response.status_code == 400
    message = response.json()["errors"]["type"][0]
    assert "Unknown connector type 'mongo'" in message and "postgres" in message


def test_a_duplicate_name_is_refused_case_insensitively(create_connector, api, pg_values):
    create_connector(name="Warehouse")
    body = {"name": "warehouse", "type": "postgres", "settings": {"sandbox": pg_values}}
    response = api.post("/api/v1/connectors/", body, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["errors"]["name"][0]
    assert Connector.objects.count() == 1


def test_the_same_name_is_fine_in_another_organization(create_connector, outsider_api, pg_values):
    create_connector(name="Warehouse")
    body = {"name": "Warehouse", "type": "postgres", "settings": {"sandbox": pg_values}}
    response = outsider_api.post("/api/v1/connectors/", body, format="json")
    assert response.status_code == 201


def test_the_type_cannot_change_after_creation(create_connector, api):
    body = create_connector(type="postgres")
    response = api.patch(f"/api/v1/connectors/{body['id']}/", {"type": "mysql"}, format="json")
    assert response.status_code == 400
    assert "cannot change" in response.json()["errors"]["type"][0]
    assert Connector.objects.get(pk=body["id"]).type_key == "postgres"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"concurrency_limit": 0}, "concurrency_limit"),
        ({"concurrency_limit": 10_001}, "concurrency_limit"),
        ({"name": ""}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"scope": "friends"}, "scope"),
        ({"tags": "erp"}, "tags"),
        ({"allowed_users": [999999]}, "allowed_users"),
    ],
)
def test_bad_common_fields_are_named(api, pg_values, change, field):
    body = {"name": "Fine", "type": "postgres", "settings": {"sandbox": pg_values}, **change}
    response = api.post("/api/v1/connectors/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Connector.objects.count() == 0


def test_users_of_another_organization_cannot_be_chosen(api, pg_values, outsider):
    body = {"name": "Fine", "type": "postgres", "settings": {"sandbox": pg_values}}
    chosen = {**body, "scope": "chosen", "allowed_users": [outsider.pk]}
    response = api.post("/api/v1/connectors/", chosen, format="json")
    assert response.status_code == 400
    assert "allowed_users" in response.json()["errors"]


def test_settings_that_are_not_an_object_are_refused(api):
    response = api.post(
        "/api/v1/connectors/", {"name": "X", "type": "postgres", "settings": {"sandbox": "host=db"}}, format="json"
    )
    assert response.status_code == 400
    assert "object" in response.json()["errors"]["settings"]["sandbox"][0]


def sample(field) -> object:
    """A plausible value of a required field, whatever its kind (digits where a text has a length limit:
    SAP's client and system number are short numbers)."""
    if field.kind == "str" and field.max and not field.choices:
        return "1" * field.max
    return {"path": "matrix.sqlite3", "url": "https://erp.example.com", "int": field.min or 1}.get(
        field.kind, field.choices[0][0] if field.choices else "db.example.com"
    )


# What a type's cross-field rules need beyond its required fields (SAP: a server to log on to).
ONE_OF = {"sap": {"ashost": "sap.example.com", "sysnr": "00"}}


@pytest.mark.parametrize("type_cls", catalog.all_types(), ids=lambda cls: cls.key)
def test_every_type_names_its_missing_required_fields_and_applies_its_defaults(api, type_cls):
    required = [f for f in type_cls.fields if f.required and f.default is None]
    refused = api.post(
        "/api/v1/connectors/", {"name": "Matrix", "type": type_cls.key, "settings": {"sandbox": {}}}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"]["settings"]["sandbox"] == {f.name: ["This field is required."] for f in required}
    given = {f.name: sample(f) for f in required} | ONE_OF.get(type_cls.key, {})
    created = api.post(
        "/api/v1/connectors/", {"name": "Matrix", "type": type_cls.key, "settings": {"sandbox": given}}, format="json"
    )
    assert created.status_code == 201, created.content
    shown = created.json()["settings"]["sandbox"]
    for field in type_cls.fields:
        if field.secret:
            assert shown[field.name] == (MASK if field.name in given else "")
        elif field.name in given:
            assert shown[field.name] == given[field.name]
        else:
            assert shown[field.name] == field.default, field.name


def test_a_name_taken_between_validation_and_saving_is_still_a_clear_400(rf, org, owner, pg_values):
    from rest_framework.exceptions import ValidationError

    from connectors.serializers import ConnectorSerializer

    request = rf.post("/api/v1/connectors/")
    request.organization = org
    body = {"name": "Racer", "type": "postgres", "settings": {"sandbox": pg_values}}
    serializer = ConnectorSerializer(data=body, context={"request": request})
    assert serializer.is_valid(), serializer.errors
    Connector.objects.create(organization=org, type_key="postgres", name="Racer")
    with pytest.raises(ValidationError) as refused:
        serializer.save()
    assert "already exists" in str(refused.value.detail["name"][0])
    assert Connector.objects.filter(name="Racer").count() == 1
    assert ConnectorSettings.objects.count() == 0
