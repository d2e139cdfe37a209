"""Connector steps end to end on a real PostgreSQL: bound parameters, recording, errors and timeouts."""

from __future__ import annotations

import time

import psycopg
import pytest

from accounts.models import Variable
from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping, sql


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


def test_a_sql_step_binds_its_properties_and_records_what_ran(publish, start, pg, secret_var):
    version = publish(
        graph(
            [
                mapping("a", '{"id": trigger.payload.id}', name="Input"),
                sql(
                    "b",
                    pg,
                    "SELECT {{ steps.input.id }}::int + 1 AS next, {{ env.API_KEY }} AS key, 'it''s 100%' AS lit",
                    name="Query",
                ),
            ],
            chain("a", "b"),
        )
    )
    execution = engine.run(start(version, {"id": 41}).pk)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    record = StepRun.objects.get(execution=execution, step_id="b")
    assert record.instruction == "SELECT %(p1)s::int + 1 AS next, %(p2)s AS key, 'it''s 100%%' AS lit"
    assert record.params == {"p1": 41, "p2": "••••••••"}
    assert record.output["rows"] == [{"next": 42, "key": "••••••••", "lit": "it's 100%"}]
    assert secret_var not in str(list(StepRun.objects.filter(execution=execution).values()))


def test_a_database_error_fails_the_step_with_the_databases_message(publish, start, pg):
    version = publish(graph([sql("a", pg, "SELECT * FROM no_such_table_here", ignore=True), mapping("b", "1", y=1)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.COMPLETED_WITH_ERRORS
    record = StepRun.objects.get(execution=execution, step_id="a")
    assert record.status == StepRun.Status.ERROR_IGNORED
    assert "no_such_table_here" in record.error


def test_a_step_over_its_timeout_ends_timed_out_and_the_query_is_gone_from_the_server(publish, start, pg, postgres_url):
    marker = f"erpflow-timeout-{time.time_ns()}"
    version = publish(graph([sql("a", pg, f"SELECT pg_sleep(30) /* {marker} */", timeout_ms=2000)]))
    execution = start(version)

    execution = engine.run(execution.pk)

    assert execution.status == Execution.Status.FAILED
    record = StepRun.objects.get(execution=execution)
    assert record.status == StepRun.Status.TIMED_OUT
    assert 1900 <= record.duration_ms < 30_000, "it ran until its timeout, not until pg_sleep(30) ended"
    with psycopg.connect(postgres_url, autocommit=True) as observer:
        running = observer.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE query LIKE %s AND state = 'active' AND pid <> pg_backend_pid()",
            (f"%{marker}%",),
        ).fetchone()[0]
    assert running == 0, "the timed-out query was cancelled on the server, not abandoned"


def test_a_connector_not_configured_for_the_environment_fails_the_step(publish, start, pg, production):
    version = publish(graph([sql("a", pg, "SELECT 1")]))
    execution = engine.run(start(version, environment=production).pk)
    assert execution.status == Execution.Status.FAILED
    assert StepRun.objects.get(execution=execution).status == StepRun.Status.FAILED


def test_env_variables_are_bound_not_spliced(publish, start, pg, org, sandbox):
    Variable.objects.create(organization=org, environment=sandbox, key="TABLE", value="pg_class; DROP TABLE x")
    version = publish(graph([sql("a", pg, "SELECT {{ env.TABLE }} AS t")]))
    execution = engine.run(start(version).pk)
    assert execution.output["rows"] == [{"t": "pg_class; DROP TABLE x"}]
