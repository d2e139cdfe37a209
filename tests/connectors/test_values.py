"""Settings values: what is stored, what is shown and what a driver receives, for any type's fields."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.management import call_command

from accounts.models import Environment, Variable
from connectors import values
from connectors.catalog.base import ConnectorType, Field
from connectors.models import Connector, ConnectorSettings
from core import crypto, masking

pytestmark = pytest.mark.django_db


class ExampleType(ConnectorType):
    """A type of every field kind; not registered, so the catalog never shows it."""

    key = "example"
    label = "Example"
    category = "database"
    icon = "database"
    language = "sql"
    fields = (
        Field("host", "Host", required=True, destination=True),
        Field("port", "Port", kind="int", default=5432, min=1, max=65535, destination=True),
        Field("password", "Password", secret=True, required=True),
        Field("token", "Token", secret=True),
        Field("ssl", "SSL", kind="choice", default="prefer", choices=(("prefer", "Prefer"), ("require", "Require"))),
        Field("verify", "Verify", kind="bool", default=True),
        Field("min_idle", "Minimum idle", kind="int", default=5, min=0),
        Field("max_pool", "Maximum pool", kind="int", default=20, min=1),
    )

    def check(self, settings):
        if {"min_idle", "max_pool"} <= settings.keys() and settings["min_idle"] > settings["max_pool"]:
            return {"min_idle": "Must not exceed the maximum pool size."}
        return {}


def sandbox(org) -> Environment:
    return Environment.objects.get(organization=org, slug="sandbox")


def test_defaults_are_applied_and_kinds_coerced():
    stored = values.clean(ExampleType, {"host": " db.local ", "port": "6543", "password": "pw", "verify": "off"})
    assert stored["host"] == "db.local"
    assert stored["port"] == 6543
    assert stored["verify"] is False
    assert stored["ssl"] == "prefer"
    assert (stored["min_idle"], stored["max_pool"]) == (5, 20)
    assert stored["token"] == ""


@pytest.mark.parametrize(
    ("incoming", "field", "message"),
    [
        ({"port": "0"}, "port", "at least 1"),
        ({"port": 70000}, "port", "at most 65535"),
        ({"port": "five"}, "port", "whole number"),
        ({"port": True}, "port", "whole number"),
        ({"ssl": "maybe"}, "ssl", "not one of the choices: prefer, require"),
        ({"verify": "perhaps"}, "verify", "true or false"),
        ({"host": ""}, "host", "required"),
        ({"colour": "blue"}, "colour", "Unknown setting"),
        ({"host": "{{ trigger.payload }}"}, "host", "Only environment variables"),
        ({"host": "{{ env.HOST"}, "host", "not closed"),
        ({"min_idle": 30, "max_pool": 10}, "min_idle", "maximum pool size"),
    ],
)
def test_each_bad_value_is_named_with_what_is_wrong(incoming, field, message):
    with pytest.raises(values.SettingsInvalid) as caught:
        values.clean(ExampleType, {"host": "db", "password": "pw", **incoming})
    assert message in caught.value.errors[field]


def test_secrets_are_stored_encrypted_and_kept_when_the_mask_or_nothing_comes_back():
    first = values.clean(ExampleType, {"host": "db", "password": "hunter2"})
    assert "hunter2" not in str(first)
    assert crypto.decrypt(first["password"]) == "hunter2"
    for kept in ({"password": masking.MASK}, {"password": ""}, {}):
        again = values.clean(ExampleType, {"host": "db", **kept}, previous=first)
        assert again["password"] == first["password"]
    changed = values.clean(ExampleType, {"host": "db", "password": "new"}, previous=first)
    assert crypto.decrypt(changed["password"]) == "new"


def test_a_saved_secret_is_not_sent_to_a_new_destination_without_being_entered_again():
    first = values.clean(ExampleType, {"host": "db", "password": "hunter2", "token": "t0k"})
    with pytest.raises(values.SettingsInvalid) as caught:
        values.clean(ExampleType, {"host": "attacker.example", "password": masking.MASK}, previous=first)
    assert "Host changed, so enter the password again" in caught.value.errors["password"]
    assert "enter the token again" in caught.value.errors["token"]
    moved = values.clean(ExampleType, {"host": "db2", "port": 6000, "password": "pw2", "token": "t2"}, previous=first)
    assert (crypto.decrypt(moved["password"]), crypto.decrypt(moved["token"])) == ("pw2", "t2")
    same_place = values.clean(ExampleType, {"host": "db", "password": masking.MASK, "min_idle": 1}, previous=first)
    assert same_place["password"] == first["password"]


def test_a_required_secret_without_a_previous_value_is_missing():
    with pytest.raises(values.SettingsInvalid) as caught:
        values.clean(ExampleType, {"host": "db", "password": masking.MASK})
    assert caught.value.errors == {"password": values.REQUIRED}
    assert values.missing(ExampleType, {"host": ""}) == ["Host", "Password"]


def test_public_values_mask_secrets_and_show_defaults():
    stored = values.clean(ExampleType, {"host": "db", "password": "hunter2"})
    shown = values.public(ExampleType, stored)
    assert shown["password"] == masking.MASK
    assert shown["token"] == ""
    assert shown["port"] == 5432
    assert "hunter2" not in str(shown)


def test_references_resolve_from_the_environment_including_secret_variables(org):
    env = sandbox(org)
    Variable.objects.create(organization=org, environment=env, key="DB_HOST", value="pg.internal")
    secret = Variable(organization=org, environment=env, key="DB_PASSWORD", secret=True)
    secret.set_value("from-vault")
    secret.save()
    Variable.objects.create(organization=org, environment=env, key="DB_PORT", value="15432")
    stored = values.clean(
        ExampleType, {"host": "{{ env.DB_HOST }}", "port": "{{env.DB_PORT}}", "password": "{{ env.DB_PASSWORD }}"}
    )
    assert stored["host"] == "{{ env.DB_HOST }}"
    resolved = values.resolve(ExampleType, stored, env)
    assert resolved["host"] == "pg.internal"
    assert resolved["port"] == 15432
    assert resolved["password"] == "from-vault"
    assert values.secret_values(ExampleType, resolved) == ["from-vault"]


def test_a_missing_variable_is_named_when_settings_resolve(org):
    stored = values.clean(ExampleType, {"host": "{{ env.NOWHERE }}", "password": "pw"})
    with pytest.raises(values.SettingsInvalid) as caught:
        values.resolve(ExampleType, stored, sandbox(org))
    assert "NOWHERE" in caught.value.errors["host"]
    assert "sandbox" in caught.value.errors["host"].lower()


def test_a_referenced_value_is_checked_once_resolved(org):
    Variable.objects.create(organization=org, environment=sandbox(org), key="PORT", value="not-a-port")
    stored = values.clean(ExampleType, {"host": "db", "password": "pw", "port": "{{ env.PORT }}"})
    with pytest.raises(values.SettingsInvalid, match="port: Enter a whole number"):
        values.resolve(ExampleType, stored, sandbox(org))


def test_rotation_reencrypts_connector_secrets(org, settings, monkeypatch):
    from connectors import catalog

    monkeypatch.setitem(catalog._TYPES, ExampleType.key, ExampleType)
    connector = Connector.objects.create(organization=org, type_key=ExampleType.key, name="rotated")
    stored = values.clean(ExampleType, {"host": "db", "password": "hunter2"})
    row = ConnectorSettings.objects.create(connector=connector, environment=sandbox(org), values=stored)

    old = settings.ERPFLOW_ENCRYPTION_KEYS[0]
    settings.ERPFLOW_ENCRYPTION_KEYS = [base64.b64encode(os.urandom(32)).decode(), old]
    call_command("rotate_encryption_key", stdout=open(os.devnull, "w"))  # noqa: SIM115
    row.refresh_from_db()
    assert row.values["password"] != stored["password"]
    settings.ERPFLOW_ENCRYPTION_KEYS = settings.ERPFLOW_ENCRYPTION_KEYS[:1]
    assert values.resolve(ExampleType, row.values, sandbox(org))["password"] == "hunter2"
