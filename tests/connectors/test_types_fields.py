"""The database types of the catalog: their declared fields, defaults, bounds and cross-field rules."""

from __future__ import annotations

import json

import pytest

from connectors import catalog, values
from core import crypto
from expressions.properties import properties
from instructions.render import render_sql

pytestmark = pytest.mark.django_db

SERVER_TYPES = ["postgres", "mysql", "oracle"]
SERVER_FIELDS = [
    "host",
    "port",
    "database",
    "username",
    "password",
    "owner",
    "role",
    "ssl_mode",
    "connect_timeout",
    "min_idle",
    "max_pool",
    "idle_timeout_ms",
]
DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306, "oracle": 1521}


def kind_of(key: str) -> type:
    return catalog.type_class(key)


def minimal(key: str) -> dict:
    return {"host": "db.example.com", "database": "erp", "username": "integration", "password": "pw-Secret-1"}


def test_importing_the_catalog_registers_every_database_type():
    keys = {cls.key for cls in catalog.all_types()}
    assert {"postgres", "mysql", "oracle", "sqlite"} <= keys
    for cls in catalog.all_types():
        if cls.key in SERVER_TYPES + ["sqlite"]:
            assert (cls.category, cls.language) == ("database", "sql")


@pytest.mark.parametrize("key", SERVER_TYPES)
def test_a_server_type_declares_the_seed_fields_once_with_help_in_its_own_words(key):
    cls = kind_of(key)
    assert [f.name for f in cls.fields] == SERVER_FIELDS
    assert [f.name for f in cls.fields if f.secret] == ["password"]
    assert {f.name for f in cls.fields if f.required} == {"host", "database", "username"}
    assert all(f.label and f.help for f in cls.fields)
    described = cls.describe()
    assert json.loads(json.dumps(described)) == described, "the catalog entry is plain JSON"
    assert described["fields"][1] == {**described["fields"][1], "name": "port", "default": DEFAULT_PORTS[key]}


@pytest.mark.parametrize("key", SERVER_TYPES)
def test_optional_fields_left_empty_take_their_defaults_and_the_password_is_encrypted(key):
    stored = values.clean(kind_of(key), {**minimal(key), "owner": "", "min_idle": None})
    assert stored["port"] == DEFAULT_PORTS[key]
    assert (stored["min_idle"], stored["max_pool"], stored["idle_timeout_ms"]) == (5, 20, 600_000)
    assert stored["connect_timeout"] == 10
    assert stored["owner"] is None and stored["role"] is None
    assert stored["password"] != "pw-Secret-1" and crypto.decrypt(stored["password"]) == "pw-Secret-1"


@pytest.mark.parametrize("key", SERVER_TYPES)
@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"min_idle": 21}, "min_idle", "maximum pool size (20)"),
        ({"min_idle": 6, "max_pool": 5}, "min_idle", "maximum pool size (5)"),
        ({"port": 0}, "port", "at least 1"),
        ({"port": 65536}, "port", "at most 65535"),
        ({"port": "db"}, "port", "whole number"),
        ({"max_pool": 0}, "max_pool", "at least 1"),
        ({"min_idle": -1}, "min_idle", "at least 0"),
        ({"idle_timeout_ms": 10}, "idle_timeout_ms", "at least 1000"),
        ({"connect_timeout": 0}, "connect_timeout", "at least 1"),
        ({"connect_timeout": 301}, "connect_timeout", "at most 300"),
        ({"ssl_mode": "sometimes"}, "ssl_mode", "not one of the choices"),
        ({"host": ""}, "host", "required"),
        ({"username": " "}, "username", "required"),
    ],
)
def test_bounds_and_rules_are_refused_with_the_field_named(key, change, field, words):
    with pytest.raises(values.SettingsInvalid) as refused:
        values.clean(kind_of(key), {**minimal(key), **change})
    assert field in refused.value.errors, refused.value.errors
    assert words in refused.value.errors[field]


@pytest.mark.parametrize("key", SERVER_TYPES)
def test_equal_minimum_and_maximum_are_accepted(key):
    stored = values.clean(kind_of(key), {**minimal(key), "min_idle": 3, "max_pool": 3})
    assert (stored["min_idle"], stored["max_pool"]) == (3, 3)


def test_the_pool_rule_is_checked_again_once_references_resolve(org):
    from accounts.models import Environment, Variable

    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    Variable.objects.create(organization=org, environment=sandbox, key="POOL_MIN", value="30")
    stored = values.clean(kind_of("postgres"), {**minimal("postgres"), "min_idle": "{{ env.POOL_MIN }}"})
    with pytest.raises(values.SettingsInvalid) as refused:
        values.resolve(kind_of("postgres"), stored, sandbox)
    assert "maximum pool size (20)" in refused.value.errors["min_idle"]


@pytest.mark.parametrize(
    ("key", "placeholder"), [("postgres", "%(p1)s"), ("mysql", "%(p1)s"), ("oracle", ":p1"), ("sqlite", ":p1")]
)
def test_each_type_declares_the_paramstyle_its_driver_binds(key, placeholder):
    context = properties(env={}, trigger={"payload": {"id": 7}}, steps={}, execution_id=1)
    rendered = render_sql("SELECT * FROM t WHERE id = {{ trigger.payload.id }}", context, kind_of(key).paramstyle)
    assert rendered.text == f"SELECT * FROM t WHERE id = {placeholder}"
    assert rendered.params == {"p1": 7}


def test_the_sqlite_type_has_a_path_and_a_smaller_pool_by_default(settings, tmp_path, org):
    settings.ERPFLOW_DATA_DIR = tmp_path
    cls = kind_of("sqlite")
    assert [f.name for f in cls.fields] == ["path", "create_missing", "min_idle", "max_pool", "idle_timeout_ms"]
    stored = values.clean(cls, {"path": "erp.sqlite3"}, organization=org)
    assert stored == {
        "path": "erp.sqlite3",
        "create_missing": False,
        "min_idle": 1,
        "max_pool": 5,
        "idle_timeout_ms": 600_000,
    }
    with pytest.raises(values.SettingsInvalid) as refused:
        values.clean(cls, {"path": "erp.sqlite3", "min_idle": 9}, organization=org)
    assert "maximum pool size (5)" in refused.value.errors["min_idle"]
