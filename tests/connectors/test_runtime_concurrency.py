"""A connector's concurrency limit holds across threads and across processes, through Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from accounts.models import Environment
from config.redis_client import client as redis_client
from connectors import concurrency, pools, runtime
from connectors.catalog.base import Deadline, StepTimeout
from tests.connectors.conftest import under_load
from tests.flows.workers import wait_until

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

HOLDER = textwrap.dedent(
    """
    import json, sys, threading, time
    import django
    django.setup()
    from types import SimpleNamespace
    from connectors import concurrency
    from connectors.catalog.base import Deadline

    connector = SimpleNamespace(pk=int(sys.argv[1]), name="shared", concurrency_limit=int(sys.argv[2]))
    environment = SimpleNamespace(pk=int(sys.argv[3]))
    spans = []

    def hold():
        for _ in range(3):
            with concurrency.slot(connector, environment, Deadline(30000)):
                started = time.time()
                time.sleep(0.15)
                spans.append((started, time.time()))

    threads = [threading.Thread(target=hold) for _ in range(3)]
    for t in threads: t.start()
    for t in threads: t.join()
    print(json.dumps(spans))
    """
)


@pytest.fixture
def sandbox(org):
    return Environment.objects.get(organization=org, slug="sandbox")


def slots_taken(connector, environment) -> int:
    """Slots held right now in Redis (leases not yet expired)."""
    key = concurrency.KEY.format(connector=connector.pk, environment=environment.pk)
    return redis_client().zcount(key, time.time(), "+inf")


def most_at_once(spans: list[tuple[float, float]]) -> int:
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans], key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


@pytest.mark.slow
def test_the_limit_holds_across_worker_processes(redis_url):
    connector_id, environment_id = 10**9 + uuid.uuid4().int % 10**6, 7
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "REDIS_URL": redis_url}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(connector_id), "2", str(environment_id)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    spans = []
    for process in processes:
        out, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        spans += [tuple(span) for span in json.loads(out.strip().splitlines()[-1])]

    assert len(spans) == 27, "every call got its slot in the end"
    assert most_at_once(spans) == 2, "never more than the limit at once, across 3 processes of 3 threads"


def test_calls_over_the_limit_wait_and_the_database_never_sees_more(
    database_connector, pg_settings, sandbox, postgres_url
):
    connector = database_connector(
        "postgres", {**pg_settings, "min_idle": 0, "max_pool": 10}, [sandbox], concurrency_limit=2
    )
    pools.get(connector, sandbox)
    name = pools.application_name(connector.pk, sandbox.pk, connector.revision)
    active = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND state = 'active'"

    def work():
        runtime.call(connector, sandbox, "SELECT pg_sleep(0.2)", {}, Deadline(20000))

    with psycopg.connect(postgres_url, autocommit=True) as observer:
        peak, errors = under_load(work, threads=6, sample=lambda: observer.execute(active, [name]).fetchone()[0])

    assert errors == []
    assert peak == 2
    assert slots_taken(connector, sandbox) == 0, "every slot was given back"


def test_a_call_that_finds_no_free_slot_before_its_deadline_names_the_limit(database_connector, pg_settings, sandbox):
    connector = database_connector(
        "postgres", {**pg_settings, "min_idle": 0}, [sandbox], name="Ledger", concurrency_limit=1
    )
    pools.get(connector, sandbox)
    holder = threading.Thread(target=runtime.call, args=(connector, sandbox, "SELECT pg_sleep(1)", {}, Deadline(5000)))
    holder.start()
    wait_until(lambda: slots_taken(connector, sandbox) == 1, 5, message="the slot to be taken")
    with pytest.raises(StepTimeout, match=r"concurrency limit reached: connector 'Ledger' allows 1 simultaneous call "):
        runtime.call(connector, sandbox, "SELECT 1", {}, Deadline(300))
    holder.join()
    assert runtime.call(connector, sandbox, "SELECT 1 AS one", {}, Deadline(2000))["rows"] == [{"one": 1}]
