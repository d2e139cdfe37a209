"""Pool figures under `make run`'s settings (SQLite, no Redis): a worker process's live pool of a
PostgreSQL connector is seen by every other process, and its figures are the server's own count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.accounts.embedded import wait_for
from tests.conftest import TEST_NETWORK_POLICY

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]

SET_UP = """
from django.contrib.auth import get_user_model
from accounts.models import Environment, Organization
from connectors import catalog, values
from connectors.models import Connector, ConnectorSettings
owner = get_user_model().objects.create_user(username="olivia", password="pw-olivia-1")
org = Organization.create("Acme", owner=owner)
sandbox = Environment.objects.get(organization=org, slug="sandbox")
connector = Connector.objects.create(organization=org, type_key="postgres", name="Warehouse")
settings = {**json.loads(sys.argv[1]), "min_idle": 3, "max_pool": 6}
stored = values.clean(catalog.type_class("postgres"), settings, organization=org)
ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=stored)
print(json.dumps({"connector": connector.pk, "environment": sandbox.pk, "revision": connector.revision}))
"""

# The worker's part: open the pool as a flow step would, then keep it as a worker does between executions.
HOLD = """
from connectors import pools
from connectors.models import Connector
connector = Connector.objects.get(name="Warehouse")
pools.get(connector, connector.settings.get().environment)
print("holding", flush=True)
time.sleep(300)
"""

# The web server's part: the figures the connector page and the monitoring chart show.
READ = """
from connectors import pool_stats
from connectors.models import Connector
connector = Connector.objects.get(name="Warehouse")
print(json.dumps(pool_stats.stats(connector, connector.settings.get().environment)))
"""


@pytest.fixture
def make_run_env(tmp_path):
    """The environment `make run` gives its processes: its own var/ (SQLite, filesystem broker), no Redis."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL")}
    env.update(TEST_NETWORK_POLICY, ERPFLOW_VAR_DIR=str(tmp_path / "var"), ERPFLOW_POOL_STATS_SECONDS="1")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    return env


def shell(env: dict, code: str, *args: str, **popen) -> subprocess.Popen:
    script = "import json, sys, time\nsys.argv = ['shell', *" + repr(list(args)) + "]\n" + code
    return subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-v", "0", "-c", script], cwd=ROOT, env=env, text=True, **popen
    )


def output(env: dict, code: str, *args: str) -> dict:
    process = shell(env, code, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def server_count(postgres_url: str, application_name: str) -> int:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name]
        ).fetchone()[0]


def test_another_process_sees_a_workers_pool_with_the_servers_count_of_its_connections(
    make_run_env, pg_settings, postgres_url
):
    ids = output(make_run_env, SET_UP, json.dumps(pg_settings))
    name = f"erpflow c{ids['connector']} e{ids['environment']} r{ids['revision']}"
    assert output(make_run_env, READ)["processes"] == 0, "no process holds a pool yet"

    worker = shell(make_run_env, HOLD, stdout=subprocess.PIPE)
    try:
        assert worker.stdout.readline().strip() == "holding"
        wait_for(lambda: server_count(postgres_url, name) == 3, 30, "the pool's three idle connections on the server")
        figures = wait_for(
            lambda: (f := output(make_run_env, READ))["processes"] == 1 and f["size"] == f["idle"] == 3 and f,
            30,
            "the worker's pool in another process's figures",
        )
        assert figures["size"] == server_count(postgres_url, name) == 3
        assert (figures["idle"], figures["in_use"], figures["min_idle"], figures["max_size"]) == (3, 0, 3, 6)
        assert figures["revision"] == ids["revision"]
    finally:
        worker.kill()
        worker.wait()

    gone = wait_for(
        lambda: (f := output(make_run_env, READ))["processes"] == 0 and f, 30, "the ended worker to drop out"
    )
    assert gone["size"] == 0
