"""The sync step in a flow: rows from an upstream step written into PostgreSQL, per item of a loop too."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from flows import engine
from flows import graph as graphs
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping

pytestmark = pytest.mark.django_db


@pytest.fixture
def table(postgres_url):
    name = f"sync_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {name} (no VARCHAR(20) PRIMARY KEY, name VARCHAR(100), source VARCHAR(10))")
        yield name, conn
        conn.execute(f"DROP TABLE {name}")


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


def sync_step(sid, connector, table, rows, **extra):
    return {
        "id": sid,
        "kind": "sync",
        "name": sid,
        "connector": connector.pk,
        "position": {"x": 0, "y": 1},
        "sync": {
            "rows": rows,
            "table": table,
            "key": ["no"],
            "mode": "upsert-prune-scope",
            "scope": {"source": "SAP"},
            "fields": [
                {"column": "no", "expression": "KUNNR"},
                {"column": "name", "expression": "NAME1", "default": "(no name)"},
                {"column": "source", "constant": "SAP"},
            ],
        },
        **extra,
    }


def test_a_sync_step_upserts_and_prunes_its_scope_and_counts_what_it_did(publish, start, pg, table):
    name, conn = table
    conn.execute(f"INSERT INTO {name} VALUES ('1', 'Old', 'SAP'), ('9', 'Gone', 'SAP'), ('X', 'Kept', 'CRM')")
    version = publish(
        graph(
            [mapping("read", "trigger.payload.customers"), sync_step("write", pg, name, "{{ steps.read }}")],
            chain("read", "write"),
        )
    )
    customers = [{"KUNNR": "1", "NAME1": "New"}, {"KUNNR": "2"}]
    execution = engine.run(start(version, {"customers": customers}).pk)
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert execution.output == {"inserted": 1, "updated": 1, "deleted": 1, "unchanged": 0, "rows": 2}
    assert sorted(conn.execute(f"SELECT * FROM {name}").fetchall()) == [
        ("1", "New", "SAP"),
        ("2", "(no name)", "SAP"),
        ("X", "Kept", "CRM"),
    ]
    again = engine.run(start(version, {"customers": customers}).pk)
    assert again.output["unchanged"] == 2


def test_a_sync_step_is_checked_with_the_graph(org, pg):
    step = sync_step("write", pg, "bad name;", "{{ steps.later }}")
    step["sync"]["mode"] = "merge"
    found = " | ".join(p.message for p in graphs.validate(graph([step]), org))
    assert "mode" in found and "bad name;" in found
    assert "refers to steps.later, but no step has that name" in found


def test_a_failed_sync_records_the_databases_error(publish, start, pg):
    version = publish(graph([sync_step("write", pg, "no_such_table_here", '[{"KUNNR": "1"}]')]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.FAILED
    assert "no_such_table_here" in StepRun.objects.get(execution=execution).error


def test_a_for_each_in_batches_writes_each_batch_with_one_bulk_statement(publish, start, pg, table):
    name, conn = table
    loop = {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.rows", "batch_size": 3}
    insert = {
        "id": "insert",
        "kind": "connector",
        "name": "insert",
        "group": "loop",
        "connector": pg.pk,
        "instruction": f"INSERT INTO {name} (no, name, source) VALUES ({{{{ row.no }}}}, {{{{ row.name }}}}, 'SAP')",
        "options": {"for_each_row": "{{ item }}"},
        "position": {"x": 0, "y": 1},
    }
    rows = [{"no": str(n), "name": f"Customer {n}"} for n in range(7)]
    execution = engine.run(start(publish(graph([loop, insert])), {"rows": rows}).pk)
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert [item["rows_affected"] for item in execution.output] == [3, 3, 1]
    assert conn.execute(f"SELECT count(*) FROM {name}").fetchone() == (7,)
    recorded = StepRun.objects.filter(execution=execution, step_id="insert").order_by("item")
    assert [r.params["row_count"] for r in recorded] == [3, 3, 1]
