"""SAP steps in flows: Ignore Errors on a BAPI error, a timed-out call, and a triggered flow whose
SAP step reads sales orders that the next step writes into PostgreSQL (real Celery worker)."""

from __future__ import annotations

import json
import uuid

import psycopg
import pytest

from flows import engine
from flows.models import StepRun
from tests.flows.builders import chain, graph, mapping, sql

GETLIST = "CALL FUNCTION BAPI_SALESORDER_GETLIST: [(CUSTOMER_NUMBER: {{ trigger.payload.customer }})]"


def sap_step(sid, connector, instruction, **extra):
    return sql(sid, connector, instruction, **extra)


@pytest.mark.django_db
def test_an_error_message_with_ignore_errors_lets_the_flow_go_on(
    sap_connector, soap_settings, sandbox, mock_sap, publish, start
):
    connector = sap_connector(soap_settings, [sandbox])
    mock_sap.control(
        "POST",
        "/_mock/bapi-behaviour",
        {"function": "BAPI_SALESORDER_GETLIST", "type": "E", "id": "V1", "number": "001", "message": "Not today"},
    )
    version = publish(
        graph(
            [
                sap_step("orders", connector, GETLIST, name="Orders", ignore=True),
                mapping("after", '{"went_on": true}', name="After", y=1),
            ],
            chain("orders", "after"),
        )
    )
    execution = engine.run(start(version, {"customer": "0001000001"}).pk)
    assert execution.status == "completed_with_errors"
    failed = StepRun.objects.get(execution=execution, step_id="orders")
    assert failed.status == "error_ignored"
    assert "E V1 001: Not today" in failed.error
    assert StepRun.objects.get(execution=execution, step_id="after").output == {"went_on": True}


@pytest.mark.django_db
def test_a_later_step_reads_the_error_and_sap_messages_of_an_ignored_failure(
    sap_connector, soap_settings, sandbox, mock_sap, publish, start, make_connector, postgres_url
):
    sap = sap_connector(soap_settings, [sandbox])
    warehouse = make_connector("postgres", postgres_url, [sandbox], name="Warehouse")
    mock_sap.control(
        "POST",
        "/_mock/bapi-behaviour",
        {"function": "BAPI_SALESORDER_GETLIST", "type": "E", "id": "V1", "number": "001", "message": "Not today"},
    )
    version = publish(
        graph(
            [
                sap_step("orders", sap, GETLIST, name="Orders", ignore=True),
                sql("broken", warehouse, "SELECT * FROM no_such_table_for_sap", name="Broken", ignore=True, y=1),
                mapping(
                    "react",
                    '{"error": steps.orders.error, "number": steps.orders.messages[0].NUMBER, '
                    '"type": steps.Orders.messages[0].TYPE, "exports": $exists(steps.orders.export), '
                    '"sql": $contains(steps.broken.error, "no_such_table_for_sap")}',
                    name="React",
                    y=2,
                ),
            ],
            chain("orders", "broken", "react"),
        )
    )
    execution = engine.run(start(version, {"customer": "0001000001"}).pk)
    assert execution.status == "completed_with_errors", execution.error
    failed = StepRun.objects.get(execution=execution, step_id="orders")
    assert failed.output["error"] == failed.error and failed.output["messages"][0]["MESSAGE"] == "Not today"
    assert StepRun.objects.get(execution=execution, step_id="react").output == {
        "error": failed.error,
        "number": "001",
        "type": "E",
        "exports": True,
        "sql": True,
    }


@pytest.mark.django_db
def test_a_call_slower_than_the_step_timeout_times_the_step_out(
    sap_connector, soap_settings, sandbox, mock_sap, publish, start
):
    connector = sap_connector(soap_settings, [sandbox])
    mock_sap.control("POST", "/_mock/faults", {"match": "/sap/bc/srt/", "method": "POST", "scenario": "slow"})
    version = publish(graph([sap_step("orders", connector, GETLIST, name="Orders", timeout_ms=500)]))
    execution = engine.run(start(version, {"customer": "0001000001"}).pk)
    assert execution.status == "failed"
    assert StepRun.objects.get(execution=execution).status == "timed_out"


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_triggered_flow_reads_sales_orders_from_sap_and_writes_them_to_postgresql(
    api, make_flow, make_connector, sap_connector, soap_settings, sandbox, postgres_url, workers
):
    table = f"sap_orders_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (doc text PRIMARY KEY, sold_to text, net_value numeric)")
    try:
        sap = sap_connector(soap_settings, [sandbox], name="SAP")
        warehouse = make_connector("postgres", postgres_url, [sandbox], name="Warehouse")
        insert = (
            f"INSERT INTO {table} (doc, sold_to, net_value) "
            'SELECT "SD_DOC", "SOLD_TO", "NET_VALUE" FROM json_to_recordset('
            "{{ concat(steps.read_orders.tables.SALES_ORDERS) }}::json"
            ') AS r("SD_DOC" text, "SOLD_TO" text, "NET_VALUE" numeric)'
        )
        make_flow(
            graph(
                [
                    sap_step("read", sap, GETLIST, name="Read orders"),
                    sql("write", warehouse, insert, name="Write orders"),
                ],
                chain("read", "write"),
            ),
            slug="sap-orders",
            deploy=[sandbox],
        )
        response = api.post(
            "/api/v1/flows/sap-orders/executions",
            data=json.dumps({"environment": "sandbox", "payload": {"customer": "0001000001"}, "wait": 30}),
            content_type="application/json",
        )
        assert response.status_code == 200, (response.content, workers.logs())
        body = response.json()
        assert body["status"] == "succeeded", (body["error"], body["steps"])
        read = StepRun.objects.get(execution_id=body["id"], step_id="read")
        orders = read.output["tables"]["SALES_ORDERS"]
        assert orders and all(order["SOLD_TO"] == "1000001" for order in orders)
        with psycopg.connect(postgres_url) as db:
            rows = db.execute(f"SELECT doc, sold_to, net_value::text FROM {table} ORDER BY doc").fetchall()
        assert rows == sorted((o["SD_DOC"], o["SOLD_TO"], o["NET_VALUE"]) for o in orders)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as db:
            db.execute(f"DROP TABLE IF EXISTS {table}")
