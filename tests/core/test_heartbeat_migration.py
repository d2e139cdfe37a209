"""WorkerHeartbeat moved from accounts to core: an upgraded database keeps its workers' beats."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("accounts", "0001_initial"), ("core", None)]
AFTER = [("accounts", "0002_workerheartbeat_to_core"), ("core", "0001_initial")]


def test_the_beats_recorded_before_the_upgrade_are_read_by_healthz_after_it(client):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO accounts_workerheartbeat (hostname, seen) VALUES ('worker-1', now())")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    tables = connection.introspection.table_names()
    assert "core_workerheartbeat" in tables and "accounts_workerheartbeat" not in tables
    worker = client.get("/healthz").json()["checks"]["worker"]
    assert worker == {"ok": True, "detail": "1 alive"}
