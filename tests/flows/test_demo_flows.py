"""The demo organization's flow-control and event flows, end to end on a real Celery worker.

"big orders" reads a customer's sales orders from mock-sap (a real server process), saves them in
the demo SQLite database and sends the big ones to the "Demo finance API", pointed here at a real
HTTP server on 127.0.0.1 that plays a busy finance system. "customer sync" takes a batch of events
through ``POST /api/v1/events``. The worker and this process share the demo database's folder.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from accounts.demo import create_demo
from accounts.models import Variable
from connectors import pools, values
from connectors.catalog.http import HttpType
from connectors.catalog.sqlite import confined
from connectors.models import Connector, ConnectorSettings
from flows.models import Execution, StepRun
from tests.api.conftest import worker_pool, workers  # noqa: F401 - real workers, shared with the API tests
from tests.conftest import token_client
from tests.flows.workers import wait_until
from tests.sap.conftest import mock_sap, mock_sap_server  # noqa: F401 - mock-sap as a real process

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# mock-sap's generated data (seed 42): customer 1000006's four sales orders in sales organization 1710.
CUSTOMER = "1000006"
ORDERS = {"0000004712": 24786.72, "0000004719": 7170.8, "0000004731": 157076.12, "0000004732": 52743.57}
BIG = {"0000004731", "0000004732"}  # over the limit of 50,000 the test sends


class FinanceApi:
    """A finance system on 127.0.0.1: per order it answers 503 (with ``Retry-After: 1``) ``busy`` times,
    then ``status``; it records every request it got."""

    def __init__(self, *, busy: int = 0, status: int = 200):
        self.busy, self.status = busy, status
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with api.lock:
                    seen = sum(1 for r in api.requests if r["body"]["order"] == body["order"])
                    api.requests.append({"path": self.path, "body": body})
                status = 503 if seen < api.busy else api.status
                answer = json.dumps({"received": body["order"]}).encode()
                self.send_response(status)
                if status == 503:
                    self.send_header("Retry-After", "1")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def worker(workers):  # noqa: F811 - the imported fixture
    """The module's worker, taking this test's triggers."""
    return workers


@pytest.fixture
def demo(worker, settings, mock_sap, monkeypatch):  # noqa: F811 - the imported fixture
    """The demo organization as ``make run`` creates it, its SQLite files where the worker reads them."""
    settings.ERPFLOW_DATA_DIR = Path(worker.env["ERPFLOW_VAR_DIR"]) / "data"
    # Rate limits are not what these tests are about, and the counters live in a Redis database that
    # test runs of other checkouts may share (organization ids repeat across test databases).
    settings.ERPFLOW_RATE_LIMIT_ORGANIZATION = settings.ERPFLOW_RATE_LIMIT_TOKEN = 1_000_000
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_URL", mock_sap.soap_url)
    monkeypatch.setenv("ERPFLOW_DEMO_SAP_PASSWORD", mock_sap.password)
    organization, _ = create_demo("demo-admin")
    yield organization
    pools.close_all()


@pytest.fixture
def client(demo):
    return token_client(demo, get_user_model().objects.get(username="demo-admin"))


def finance_at(organization, url: str) -> None:
    """Point the demo's finance API connector at ``url`` (the worker opens a pool with these settings)."""
    connector = Connector.objects.get(organization=organization, name="Demo finance API")
    ConnectorSettings.objects.filter(connector=connector).update(values=values.clean(HttpType, {"base_url": url}))


def table(organization, name: str, columns: str) -> list[tuple]:
    with sqlite3.connect(confined(f"demo/{organization.slug}-sandbox.sqlite3", organization.pk)) as db:
        rows = db.execute(f"SELECT {columns} FROM {name} ORDER BY 1").fetchall()  # noqa: S608 - the test's names
    db.close()
    return rows


def run_big_orders(client, worker):
    response = client.post(
        "/api/v1/flows/demo-big-orders/executions",
        data=json.dumps({"environment": "sandbox", "payload": {"customer": CUSTOMER, "limit": 50000}, "wait": 45}),
        content_type="application/json",
    )
    assert response.status_code in (200, 202), response.content
    execution_id = response.json()["id"]
    wait_until(
        lambda: Execution.objects.get(pk=execution_id).is_final, 60, message=f"the execution to end\n{worker.logs()}"
    )
    return Execution.objects.get(pk=execution_id)


def test_big_orders_saves_every_order_and_sends_only_the_big_ones_to_finance_retrying_a_busy_api(demo, client, worker):
    finance = FinanceApi(busy=2)
    finance_at(demo, finance.url)
    try:
        execution = run_big_orders(client, worker)
    finally:
        finance.stop()
    assert execution.status == "succeeded", (execution.error, worker.logs())

    saved = table(demo, "sap_orders", "sd_doc, customer, net_value, currency")
    assert saved == [(order, CUSTOMER, value, "EUR") for order, value in sorted(ORDERS.items())]
    assert execution.output["saved"]["inserted"] == 4
    assert sorted(execution.output["to_finance"]) == sorted(BIG)

    # Only the big orders reached finance, each three times: two 503s, then the 200.
    sent = [r["body"]["order"] for r in finance.requests]
    assert sorted(sent) == sorted([*BIG, *BIG, *BIG])
    token = Variable.objects.get(organization=demo, key="FINANCE_HOOK_TOKEN").plain_value()
    assert {r["path"] for r in finance.requests} == {f"/hooks/{token}"}
    for request in finance.requests:
        order = request["body"]["order"]
        assert request["body"] == {
            "order": order,
            "customer": CUSTOMER,
            "net_value": f"{ORDERS[order]:.2f}",
            "currency": "EUR",
        }

    runs = StepRun.objects.filter(execution=execution)
    for item, order in enumerate(sorted(ORDERS)):
        scope = f"each[{item}]"
        taken = set(runs.filter(scope=scope).values_list("step_id", "status"))
        if order in BIG:
            attempts = list(runs.filter(scope=scope, step_id="notify").order_by("attempt"))
            assert [(a.attempt, a.status) for a in attempts] == [(1, "retrying"), (2, "retrying"), (3, "succeeded")]
            assert "503" in attempts[0].error and attempts[0].wait_ms >= 1000, "Retry-After: 1 was honoured"
            assert token not in attempts[0].error and token not in attempts[0].instruction
            assert {("sent", "succeeded"), ("kept", "skipped")} <= taken
        else:
            assert not runs.filter(scope=scope, step_id="notify").exclude(status="skipped").exists()
            assert {("kept", "succeeded"), ("sent", "skipped")} <= taken
    assert not Execution.objects.filter(organization=demo, trigger="handler").exists()


def test_a_finance_api_that_refuses_fails_big_orders_and_starts_its_on_failure_handler(demo, client, worker):
    finance = FinanceApi(status=500)
    finance_at(demo, finance.url)
    try:
        execution = run_big_orders(client, worker)
    finally:
        finance.stop()
    assert execution.status == "failed", worker.logs()
    assert len(table(demo, "sap_orders", "sd_doc")) == 4, "the orders were saved before the calls failed"
    notify = StepRun.objects.filter(execution=execution, step_id="notify", status="failed").first()
    assert notify.attempt == 1 and "500" in notify.error, "a 500 is not worth another attempt"

    handler = wait_until(
        lambda: (
            Execution.objects.filter(organization=demo, trigger="handler", flow__slug="demo-big-orders-failed")
            .filter(status__in=["succeeded", "failed"])
            .first()
        ),
        30,
        message="the on-failure handler to run",
    )
    assert handler.status == "succeeded", handler.error
    assert handler.input["payload"]["execution_id"] == execution.pk
    assert handler.input["payload"]["failing_step"]["name"] == "Tell finance"
    assert handler.output["text"].startswith(f"Big orders run {execution.pk} failed at step 'Tell finance': ")


CUSTOMER_XML = (
    "<customer><code>C-2001</code><name>Fjord Logistics AS</name><city>Bergen</city>"
    "<country>NO</country><credit_limit>15000</credit_limit></customer>"
)


def test_a_batch_of_customer_events_is_synced_into_the_demo_customers_table(demo, client, worker):
    created = {"customer": {"code": "C-2000", "name": "Lakeside Paper Co", "city": "Lyon", "country": "FR"}}
    events = [
        {"event_type": "CREATE", "use_case_slug": "customer-sync", "timestamp": "2026-03-01T12:00:00Z",
         "format": "json", "payload": json.dumps(created), "deduplication_id": "cust-C-2000-1"},
        {"event_type": "UPDATE", "use_case_slug": "customer-sync", "timestamp": "2026-03-01T12:00:01Z",
         "format": "xml", "payload": CUSTOMER_XML, "deduplication_id": "cust-C-2001-1"},
        {"event_type": "DELETE", "use_case_slug": "customer-sync", "timestamp": "2026-03-01T12:00:02Z",
         "format": "json", "payload": json.dumps({"customer": {"code": "C-1003"}}),
         "deduplication_id": "cust-C-1003-d"},
    ]  # fmt: skip
    body = {"environment": "sandbox", "meta": {"correlation_id": "erp-batch-1"}, "events": events}
    response = client.post("/api/v1/events", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 202, response.content
    ids = [e["id"] for e in response.json()["events"]]
    assert [e["outcome"] for e in response.json()["events"]] == ["accepted"] * 3
    wait_until(
        lambda: all(e.is_final for e in Execution.objects.filter(pk__in=ids)),
        60,
        message=f"the events\n{worker.logs()}",
    )
    for execution in Execution.objects.filter(pk__in=ids):
        assert execution.status == "succeeded", execution.error

    assert table(demo, "customers", "code, name, city, country, credit_limit") == [
        ("C-1000", "Nordwind Handels GmbH", "Hamburg", "DE", 50000),
        ("C-1001", "Atlas Components S.A.", "Porto", "PT", 20000),
        ("C-1002", "Blue Harbor Foods Ltd", "Bristol", "GB", 35000),
        ("C-2000", "Lakeside Paper Co", "Lyon", "FR", 0),
        ("C-2001", "Fjord Logistics AS", "Bergen", "NO", 15000),
    ]
    delete = StepRun.objects.get(execution_id=ids[2], step_id="delete")
    assert delete.output["deleted"] == 1
    assert StepRun.objects.get(execution_id=ids[2], step_id="upsert").status == "skipped"
