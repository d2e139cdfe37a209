"""Live schema introspection and the sync step's live check, on real PostgreSQL, MariaDB and SQLite."""

from __future__ import annotations

import pytest

from connectors import schema, sync_check
from tests.connectors import sync_targets

pytestmark = pytest.mark.django_db
target = sync_targets.target  # the fixture: a customers table on each database


def good_spec(target) -> dict:
    return {
        "rows": "{{ trigger.payload }}",
        "table": target.table,
        "key": ["customer_no"],
        "fields": [{"column": "customer_no", "expression": "no"}, {"column": "name", "expression": "name"}],
    }


def test_the_tables_of_the_connectors_schema_include_the_new_table(target, sandbox):
    found = schema.tables(target.connector, sandbox)
    assert {"name": target.table, "type": "BASE TABLE"} in found


def test_a_table_answers_its_columns_and_its_unique_indexes(target, sandbox):
    target.sql("CREATE UNIQUE INDEX {t}_name_city ON {t} (name, city)")
    described = schema.table(target.connector, sandbox, target.table)
    columns = {column["name"]: column for column in described["columns"]}
    assert list(columns) == ["customer_no", "name", "city", "source", "deleted"]
    assert columns["customer_no"]["nullable"] is False
    assert columns["name"]["nullable"] is True
    assert "char" in columns["name"]["type"].lower()
    assert columns["deleted"]["default"] is not None
    indexes = {tuple(index["columns"]): index for index in described["unique_indexes"]}
    assert set(indexes) == {("customer_no",), ("name", "city")}
    assert indexes[("customer_no",)]["primary"] is True
    assert indexes[("name", "city")]["primary"] is False


def test_a_table_that_does_not_exist_is_unknown(target, sandbox):
    with pytest.raises(schema.UnknownTable, match="There is no table 'nowhere_at_all'"):
        schema.table(target.connector, sandbox, "nowhere_at_all")


def test_a_spec_that_fits_the_table_has_no_problems_and_no_warnings(target, sandbox):
    assert sync_check.check(target.connector, sandbox, good_spec(target)) == {"problems": [], "warnings": []}


def test_a_missing_column_is_a_problem_naming_the_columns_there_are(target, sandbox):
    spec = good_spec(target)
    spec["fields"].append({"column": "colour", "constant": "red"})
    answer = sync_check.check(target.connector, sandbox, spec)
    assert answer["problems"] == [
        f"Sync step: column 'colour' does not exist in table '{target.table}' "
        "(columns: customer_no, name, city, source, deleted)"
    ]


def test_a_key_without_a_unique_index_and_a_required_column_left_out_are_warnings(target, sandbox):
    target.sql("CREATE TABLE {t}_loose (code VARCHAR(10) NOT NULL, name VARCHAR(10), qty INTEGER NOT NULL)")
    try:
        spec = {**good_spec(target), "table": f"{target.table}_loose", "key": ["code"]}
        spec["fields"] = [{"column": "code", "expression": "no"}, {"column": "name", "expression": "name"}]
        answer = sync_check.check(target.connector, sandbox, spec)
    finally:
        target.sql("DROP TABLE {t}_loose")
    assert answer["problems"] == []
    assert len(answer["warnings"]) == 2
    assert answer["warnings"][0].startswith(f"Sync step: table '{target.table}_loose' has no unique index on the key")
    assert "column 'qty' is required (NOT NULL, no default) but assigned no value" in answer["warnings"][1]


def test_settings_with_problems_answer_those_before_any_database_is_asked(target, sandbox):
    answer = sync_check.check(target.connector, sandbox, {**good_spec(target), "table": "x; DROP TABLE y"})
    assert answer["warnings"] == []
    assert answer["problems"] == [
        "Sync step: table 'x; DROP TABLE y' is not a plain name: use letters, digits, _ and $ only, starting with a "
        "letter or _, at most 63 characters"
    ]
