"""The sync settings checked without a database, and the statements each dialect gets (pure: no database)."""

from __future__ import annotations

import pytest

from instructions import sync as statements
from instructions.sync_spec import parse, problems

BASE = {
    "rows": "{{ steps.read.rows }}",
    "table": "customers",
    "key": ["customer_no"],
    "mode": "upsert",
    "fields": [{"column": "customer_no", "expression": "KUNNR"}, {"column": "name", "expression": "NAME1"}],
}


def test_a_complete_spec_has_no_problems_and_parses_with_defaults():
    assert problems(BASE) == []
    spec = parse(BASE)
    assert (spec.batch_size, spec.schema, spec.columns, spec.prune_when_empty) == (
        500,
        None,
        ("customer_no", "name"),
        False,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"key": ["x"]}, "Sync step: key column 'x' is not assigned a value"),
        ({"key": []}, "Sync step: key must list the column or columns that identify a row, at least one"),
        ({"mode": "merge"}, "Sync step: mode must be one of upsert, delete, upsert-prune-scope"),
        ({"rows": ""}, "Sync step: rows must say where the source rows come from, such as {{ steps.read.rows }}"),
        ({"rows": "{{ steps.read.rows }} and more"}, "Sync step: rows must be one {{ }} expression and nothing else"),
        ({"batch_size": 0}, "Sync step: batch_size must be a whole number from 1 to 10000"),
        ({"colour": 1}, "Sync step: unknown setting 'colour'"),
        ({"scope": {"source": "SAP"}}, "Sync step: scope only applies to the modes delete and upsert-prune-scope"),
        ({"mode": "upsert-prune-scope"}, "Sync step: mode upsert-prune-scope needs a scope"),
        (
            {"mode": "upsert-prune-scope", "scope": {"source": "SAP"}},
            "Sync step: scope column 'source' is not assigned a value",
        ),
        ({"mode": "delete", "scope": {"source": None}}, "Sync step: scope column 'source' must have a text, number"),
        (
            {"mode": "delete", "soft_delete": {"column": "customer_no", "value": True}},
            "Sync step: soft_delete column 'customer_no' is a key column",
        ),
        ({"soft_delete": {"column": "deleted", "value": True}}, "Sync step: soft_delete only applies to the modes"),
        ({"fields": []}, "Sync step: fields must be a list of column assignments, at least one"),
    ],
)
def test_each_problem_is_one_message_naming_its_setting(change, message):
    found = problems({**BASE, **change})
    assert len(found) == 1, found
    assert found[0].startswith(message)


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"column": "name"}, "Sync step: field 'name' needs either an expression or a constant, not both nor neither"),
        ({"column": "name", "expression": "NAME1 +"}, "Sync step: field 'name''s expression, line 1"),
        ({"column": "name", "constant": "x", "default": "y"}, "Sync step: field 'name' has a constant, so its default"),
        ({"column": "customer_no", "constant": 1}, "Sync step: column 'customer_no' is assigned twice"),
        ({"column": "name", "expression": "A", "colour": 1}, "Sync step: field 2 has unknown setting 'colour'"),
    ],
)
def test_a_wrong_field_assignment_is_named(field, message):
    fields = BASE["fields"] if field.get("column") != "name" else BASE["fields"][:1]
    found = problems({**BASE, "fields": [*fields, field]})
    assert any(text.startswith(message) for text in found), found


@pytest.mark.parametrize(
    "name",
    ['customers"; DROP TABLE x; --', "customers`", "a b", "x.y", "1abc", "ümlaut", "a" * 64, "t\x00", "t;", "[t]"],
)
def test_names_that_are_not_plain_identifiers_are_refused_wherever_they_appear(name):
    for spec in (
        {**BASE, "table": name},
        {**BASE, "schema": name},
        {**BASE, "fields": [*BASE["fields"], {"column": name, "constant": 1}]},
        {**BASE, "key": [name]},
        {**BASE, "mode": "delete", "scope": {name: "SAP"}},
        {**BASE, "mode": "delete", "soft_delete": {"column": name, "value": 1}},
    ):
        found = problems(spec)
        assert any("is not a plain name" in text for text in found), (spec, found)


def test_identifiers_are_quoted_per_dialect_and_values_never_appear_in_the_text():
    spec = parse({**BASE, "schema": "erp", "mode": "delete", "scope": {"source": "SAP'--"}})
    evil = "x'); DROP TABLE customers; --"
    for name, quoted in (("postgresql", '"erp"."customers"'), ("mysql", "`erp`.`customers`"),
                         ("sqlite", '"erp"."customers"'), ("oracle", '"ERP"."CUSTOMERS"')):  # fmt: skip
        dialect = statements.dialect(name)
        [upsert] = dialect.upsert(spec, [(evil, evil)])
        [delete] = dialect.remove(spec, [(evil,)])
        for statement in (upsert, delete):
            assert quoted in statement.text
            assert evil not in statement.text and "SAP'--" not in statement.text
            assert evil in statement.params.values()
        assert "SAP'--" in delete.params.values()


def test_many_rows_are_cut_into_statements_within_the_bound_value_limits():
    spec = parse({**BASE, "mode": "delete"})
    keys = [(f"C-{n}",) for n in range(2500)]
    oracle = statements.dialect("oracle").remove(spec, keys)
    assert [s.rows for s in oracle] == [1000, 1000, 500], "ORA-01795: at most 1000 items in a list"
    rows = [(f"C-{n}", "x") for n in range(40_000)]
    cut = statements.dialect("postgresql").upsert(spec, rows)
    assert sum(s.rows for s in cut) == 40_000
    assert max(len(s.params) for s in cut) <= 30_000


def test_postgres_tells_inserts_from_updates_and_skips_unchanged_rows():
    [upsert] = statements.dialect("postgresql").upsert(parse(BASE), [("C-1", "a")])
    assert 'ON CONFLICT ("customer_no") DO UPDATE SET "name" = EXCLUDED."name"' in upsert.text
    assert 'WHERE (d."name") IS DISTINCT FROM (EXCLUDED."name")' in upsert.text
    assert upsert.text.endswith("RETURNING (d.xmax = 0) AS inserted")


def test_oracle_merges_and_compares_nulls_as_equal():
    [merge] = statements.dialect("oracle").upsert(parse(BASE), [("C-1", None), ("C-2", True)])
    assert merge.text.startswith('MERGE INTO "CUSTOMERS" d USING (SELECT :p0 AS "CUSTOMER_NO", :p1 AS "NAME" FROM DUAL')
    assert 'WHEN MATCHED THEN UPDATE SET d."NAME" = s."NAME" WHERE DECODE(d."NAME", s."NAME", 0, 1) = 1' in merge.text
    assert merge.params == {"p0": "C-1", "p1": None, "p2": "C-2", "p3": 1}
