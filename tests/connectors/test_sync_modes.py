"""The sync step's modes on real PostgreSQL, MariaDB and SQLite: what lands in the table, and the counts.

Each test runs on the three databases (``target`` is parametrized); the table is read back through a
connection of the test's own, never through erpflow.
"""

from __future__ import annotations

import pytest

from connectors import sync
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.sql_session import Session
from tests.connectors import sync_targets

pytestmark = pytest.mark.django_db
target = sync_targets.target  # the fixture: a customers table on each database

SAP = [
    {"KUNNR": "C-1", "NAME1": "Nordwind", "ORT01": "Hamburg"},
    {"KUNNR": "C-2", "NAME1": "Sonnenhof", "ORT01": None},
    {"KUNNR": "C-3", "NAME1": "Bergblick", "ORT01": "Graz"},
]


def spec(target, **change) -> dict:
    base = {
        "rows": "{{ trigger.payload.customers }}",
        "table": target.table,
        "key": ["customer_no"],
        "mode": "upsert",
        "fields": [
            {"column": "customer_no", "expression": "KUNNR"},
            {"column": "name", "expression": "NAME1"},
            {"column": "city", "expression": "ORT01", "default": "unknown"},
            {"column": "source", "constant": "SAP"},
        ],
    }
    return {**base, **change}


def run(target, sync_spec, rows, sandbox, timeout_ms=10_000):
    properties = {"trigger": {"payload": {"customers": rows}}, "steps": {}, "env": {}, "execution": {}}
    return sync.run(target.connector, sandbox, sync_spec, properties, Deadline(timeout_ms))


def test_upsert_inserts_new_rows_updates_changed_ones_and_counts_unchanged_ones(target, sandbox):
    first = run(target, spec(target), SAP, sandbox)
    assert first == {"inserted": 3, "updated": 0, "deleted": 0, "unchanged": 0, "rows": 3}
    assert target.rows() == {
        "C-1": ("Nordwind", "Hamburg", "SAP", 0),
        "C-2": ("Sonnenhof", "unknown", "SAP", 0),
        "C-3": ("Bergblick", "Graz", "SAP", 0),
    }

    changed = [dict(SAP[0], NAME1="Nordwind AG"), SAP[1], SAP[2], {"KUNNR": "C-4", "NAME1": "Neu", "ORT01": "Linz"}]
    second = run(target, spec(target), changed, sandbox)
    assert second == {"inserted": 1, "updated": 1, "deleted": 0, "unchanged": 2, "rows": 4}
    assert target.rows()["C-1"] == ("Nordwind AG", "Hamburg", "SAP", 0)
    assert target.rows()["C-4"] == ("Neu", "Linz", "SAP", 0)


def test_batches_count_the_same_as_one_and_a_key_given_twice_keeps_the_last_row(target, sandbox):
    rows = [*SAP, dict(SAP[0], NAME1="Nordwind (last)")]
    output = run(target, spec(target, batch_size=1), rows, sandbox)
    assert output == {"inserted": 3, "updated": 0, "deleted": 0, "unchanged": 0, "rows": 4}
    assert target.rows()["C-1"][0] == "Nordwind (last)"


def test_a_batch_that_is_one_statement_goes_without_begin_and_commit(target, sandbox, monkeypatch):
    opened = []
    transaction = Session.transaction
    monkeypatch.setattr(Session, "transaction", lambda session: opened.append(1) or transaction(session))

    assert run(target, spec(target), SAP[:1], sandbox)["inserted"] == 1
    # PostgreSQL's upsert says itself what it inserted; the others count the existing keys first, in
    # the same transaction as the upsert, so that the counts are of what the upsert saw.
    assert len(opened) == (0 if target.kind == "postgres" else 1)
    assert run(target, spec(target, mode="delete"), SAP[:1], sandbox)["deleted"] == 1
    assert len(opened) == (0 if target.kind == "postgres" else 1)
    assert target.rows() == {}


def test_values_are_bound_so_quotes_and_sql_in_data_are_stored_as_written(target, sandbox):
    evil = {"KUNNR": "C'; DROP x;--", "NAME1": 'O\'Brien "quoted" %s %(p0)s :p1 ?', "ORT01": "a\\b"}
    assert run(target, spec(target), [evil], sandbox)["inserted"] == 1
    assert target.rows() == {evil["KUNNR"]: (evil["NAME1"], "a\\b", "SAP", 0)}


def test_delete_mode_deletes_the_rows_whose_keys_are_in_the_input_and_counts_the_rest(target, sandbox):
    target.insert(("C-1", "a", None, "SAP", 0), ("C-2", "b", None, "SAP", 0), ("C-3", "c", None, "SAP", 0))
    output = run(target, spec(target, mode="delete"), [SAP[0], SAP[2], {"KUNNR": "C-404"}], sandbox)
    assert output == {"inserted": 0, "updated": 0, "deleted": 2, "unchanged": 1, "rows": 3}
    assert list(target.rows()) == ["C-2"]


def test_delete_mode_with_a_soft_delete_marks_rows_once_and_keeps_them(target, sandbox):
    target.insert(("C-1", "a", None, "SAP", 0), ("C-2", "b", None, "SAP", 0))
    soft = spec(target, mode="delete", soft_delete={"column": "deleted", "value": 1})
    assert run(target, soft, [SAP[0]], sandbox)["deleted"] == 1
    again = run(target, soft, [SAP[0]], sandbox)
    assert (again["deleted"], again["unchanged"]) == (0, 1), "a row already marked is not marked again"
    assert target.rows() == {"C-1": ("a", None, "SAP", 1), "C-2": ("b", None, "SAP", 0)}


def test_prune_deletes_only_rows_in_its_scope_that_the_whole_input_no_longer_has(target, sandbox):
    target.insert(
        ("C-1", "old", None, "SAP", 0),
        ("C-7", "gone from SAP", None, "SAP", 0),
        ("C-8", "from the shop", None, "SHOP", 0),  # outside the scope, missing from the input: survives
    )
    prune = spec(target, mode="upsert-prune-scope", scope={"source": "SAP"}, batch_size=1)
    output = run(target, prune, SAP, sandbox)
    assert output == {"inserted": 2, "updated": 1, "deleted": 1, "unchanged": 0, "rows": 3}
    assert set(target.rows()) == {"C-1", "C-2", "C-3", "C-8"}, "batch 1 of 3 did not prune the keys of batches 2-3"
    assert target.rows()["C-8"] == ("from the shop", None, "SHOP", 0)


def test_prune_with_a_soft_delete_marks_what_left_the_scope(target, sandbox):
    target.insert(("C-7", "gone", None, "SAP", 0), ("C-8", "shop", None, "SHOP", 0))
    prune = spec(
        target, mode="upsert-prune-scope", scope={"source": "SAP"}, soft_delete={"column": "deleted", "value": 1}
    )
    assert run(target, prune, SAP, sandbox)["deleted"] == 1
    assert target.rows()["C-7"] == ("gone", None, "SAP", 1)
    assert target.rows()["C-8"] == ("shop", None, "SHOP", 0)
    assert run(target, prune, SAP, sandbox)["deleted"] == 0, "a marked row is not counted again"


def test_an_empty_source_never_prunes_the_scope_unless_asked(target, sandbox):
    target.insert(("C-7", "gone", None, "SAP", 0))
    prune = spec(target, mode="upsert-prune-scope", scope={"source": "SAP"})
    with pytest.raises(ConnectorError, match="no source rows"):
        run(target, prune, [], sandbox)
    assert list(target.rows()) == ["C-7"]
    assert run(target, {**prune, "prune_when_empty": True}, [], sandbox)["deleted"] == 1
    assert target.rows() == {}


def test_a_row_that_cannot_be_assigned_fails_the_step_before_anything_is_written(target, sandbox):
    rows = [SAP[0], {"NAME1": "no key"}, SAP[2]]
    with pytest.raises(ConnectorError) as failed:
        run(target, spec(target), rows, sandbox)
    assert "1 of 3 source rows cannot be written, so none was" in str(failed.value)
    assert "row 2, column 'customer_no': the key column has no value" in str(failed.value)
    assert target.rows() == {}


def test_a_database_error_in_a_batch_rolls_that_batch_back_and_skips_the_prune(target, sandbox):
    target.insert(("C-7", "keep me", None, "SAP", 0))
    too_long = {"KUNNR": "C-5", "NAME1": "x" * 500, "ORT01": None}
    prune = spec(target, mode="upsert-prune-scope", scope={"source": "SAP"}, batch_size=2)
    good = [dict(row, DEL=0) for row in SAP]
    if target.kind == "sqlite":  # SQLite keeps text of any length: a NOT NULL column fails instead
        too_long = {"KUNNR": "C-5", "NAME1": "x", "ORT01": None, "DEL": None}
        prune["fields"] = [*prune["fields"], {"column": "deleted", "expression": "DEL"}]
    with pytest.raises(ConnectorError):
        run(target, prune, [*good, too_long], sandbox)
    assert set(target.rows()) == {"C-1", "C-2", "C-7"}, "batch 1 committed, batch 2 rolled back, no prune"


def test_the_rows_may_come_from_jsonata_and_a_single_object_is_one_row(target, sandbox):
    properties = {"trigger": {"payload": {"KUNNR": "C-1", "NAME1": "Solo"}}, "steps": {}, "env": {}}
    jsonata = spec(target, rows="trigger.payload")
    assert sync.run(target.connector, sandbox, jsonata, properties, Deadline(5000))["inserted"] == 1
    assert target.rows()["C-1"][:2] == ("Solo", "unknown")


def test_a_step_out_of_time_while_evaluating_is_a_step_timeout(target, sandbox):
    slow = spec(target)
    slow["fields"] = [*slow["fields"][:1], {"column": "name", "expression": "$count([1..90000].($string($)))"}]
    with pytest.raises(StepTimeout):
        run(target, slow, SAP * 50, sandbox, timeout_ms=200)
    assert target.rows() == {}
