"""Events end to end: batches of 100 through ``POST /api/v1/events`` into a use case that writes PostgreSQL.

The use case's flow has one step writing the event's customer into a table of the connector's own
database (``<DATABASE_URL's name>_sqlbench``, as ``bench/sql_flow.py``): a sync step (``BENCH_EVENTS_STEP=sync``,
the default; README "Sync step": mode ``upsert`` keyed by ``id``, one field per column) or a
hand-written SQL step (``BENCH_EVENTS_STEP=sql``: ``INSERT ... ON CONFLICT (id) DO UPDATE``).
The app is served as ``bench/trigger.py`` serves it (gunicorn, Celery workers with threads, PostgreSQL
and Redis), with one worker process per core (``BENCH_WORKER_PROCESSES``), as a deployment runs them:
the threads of one process share one interpreter lock, so one process uses about one core. The
organization's rate limit is raised for the run, since each event counts as a request.
``BENCH_CLIENTS_EVENTS`` threads (4) post ``BENCH_BATCHES`` batches (50) of 100 events, each with its
own deduplication id, then the same batches again. Prints:

- events accepted per second at the API (the first pass: every event stored and sent to the queue);
- events processed per second end to end (first accepted to last finished) and p50/p99 from an
  event's acceptance to its execution's end (database times);
- duplicates skipped per second (the second pass: every event answered ``duplicate``, nothing runs);
- the CPU time per event of gunicorn while accepting, of the workers while running them, and of
  PostgreSQL (every backend: erpflow's database and the target's) and Redis over the whole run
  (unlike rates, it hardly moves when other programs load the machine);
- whether every customer row is in the target table;
- the machine's load average at the start and the end (the figures depend on what else runs);
- with ``BENCH_PROFILE=1``, erpflow's heaviest frames in the web processes while they accept and in
  the workers while they run (``bench/_profile.py``; py-spy's own load lowers the rates of that run).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow REDIS_URL=redis://127.0.0.1:6379/15 \\
        ERPFLOW_EGRESS_ALLOWED_NETWORKS=127.0.0.1/32,::1/128 ERPFLOW_EGRESS_ALLOW_INTERNAL=127.0.0.1:5432 \\
        .venv/bin/python bench/events.py

Figures are printed, never asserted: they depend on the machine.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _profile  # noqa: E402 - the root is on the path now
from bench.sql_flow import prepare_connector, target_url  # noqa: E402
from bench.trigger import cpu_seconds, create_fixture, percentile, server_pids, serving, setup_django  # noqa: E402

BATCHES = int(os.environ.get("BENCH_BATCHES", "50"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS_EVENTS", "4"))
STEP = os.environ.get("BENCH_EVENTS_STEP", "sync")
# One Celery worker process per core, as a deployment runs them: one process's threads share one GIL.
WORKER_PROCESSES = int(os.environ.get("BENCH_WORKER_PROCESSES", str(os.cpu_count() or 1)))
# py-spy the web processes while they accept and the workers while they run (bench/_profile.py).
PROFILE = os.environ.get("BENCH_PROFILE") == "1"
BATCH_SIZE = 100
WARM_BATCHES = 8
TABLE = "bench_event_customers"
UPSERT = (
    f"INSERT INTO {TABLE} (id, name, batch) VALUES (CAST({{{{ trigger.payload.id }}}} AS int), "
    "{{ trigger.payload.name }}, {{ trigger.payload.batch }}) "
    "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, batch = EXCLUDED.batch"
)


def prepare(url: str):
    def make(organization, sandbox) -> dict:
        # The connector to the target database, as bench/sql_flow.py makes it; its graph is not this one.
        connector = prepare_connector(url)(organization, sandbox)["steps"][0]["connector"]
        if STEP == "sql":
            step = {"id": "upsert", "kind": "connector", "name": "Upsert customer", "instruction": UPSERT}
        else:
            fields = [{"column": column, "expression": column} for column in ("id", "name", "batch")]
            sync = {"rows": "{{ trigger.payload }}", "table": TABLE, "key": ["id"], "mode": "upsert", "fields": fields}
            step = {"id": "sync", "kind": "sync", "name": "Sync customer", "sync": sync}
        step.update(connector=connector, timeout_ms=5000, position={"x": 0, "y": 0})
        return {"steps": [step], "edges": []}

    return make


def reset_table(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as target:
        target.execute(f"DROP TABLE IF EXISTS {TABLE}")
        target.execute(f"CREATE TABLE {TABLE} (id int PRIMARY KEY, name text NOT NULL, batch text NOT NULL)")


def batches(run: str) -> list[str]:
    bodies = []
    for b in range(BATCHES):
        events = []
        for i in range(BATCH_SIZE):
            n = b * BATCH_SIZE + i
            payload = json.dumps({"id": n, "name": f"customer {n}", "batch": f"{run}-{b}"})
            events.append(
                {
                    "event_type": "UPDATE",
                    "use_case_slug": "customers",
                    "timestamp": "2026-03-01T12:00:00Z",
                    "payload": payload,
                    "deduplication_id": f"{run}-{n}",
                }
            )
        bodies.append(
            json.dumps({"environment": "sandbox", "meta": {"correlation_id": f"{run}-{b}"}, "events": events})
        )
    return bodies


def post_all(port: int, token: str, bodies: list[str]) -> tuple[float, dict[str, int], list[str]]:
    """Post every body from ``CLIENTS`` threads; the seconds it took, the outcomes counted, the errors."""
    pending = list(reversed(bodies))
    lock = threading.Lock()
    counts: dict[str, int] = {}
    errors: list[str] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not pending:
                    break
                body = pending.pop()
            connection.request("POST", "/api/v1/events", body=body, headers=headers)
            response = connection.getresponse()
            data = json.loads(response.read())
            with lock:
                if response.status != 202:
                    errors.append(f"HTTP {response.status}: {json.dumps(data)[:200]}")
                    continue
                for outcome in data["events"]:
                    counts[outcome["outcome"]] = counts.get(outcome["outcome"], 0) + 1
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, counts, errors


def wait_processed(flow, total: int, timeout: float = 600) -> None:
    from flows.models import Execution

    deadline = time.monotonic() + timeout
    while Execution.objects.filter(flow=flow, status__in=Execution.FINAL).count() < total:
        if time.monotonic() > deadline:
            raise SystemExit(f"not every event was processed within {timeout:.0f} s")
        time.sleep(0.5)


def main() -> None:
    setup_django()
    from accounts.choices import Scope
    from accounts.models import ApiToken
    from flows.models import Execution

    os.environ["ERPFLOW_RATE_LIMIT_ORGANIZATION"] = os.environ["ERPFLOW_RATE_LIMIT_TOKEN"] = "10000000"
    url, _ = target_url()
    reset_table(url)
    fixture = create_fixture("events", {}, prepare(url))
    fixture.flow.use_case_slug, fixture.flow.use_case_enabled = "customers", True
    fixture.flow.save()
    _, token = ApiToken.issue(
        organization=fixture.organization, user=fixture.user, name="erp", scopes=[Scope.EVENTS_WRITE]
    )
    total = BATCHES * BATCH_SIZE
    run = uuid.uuid4().hex[:8]
    try:
        with (
            tempfile.TemporaryDirectory(prefix="erpflow-bench-") as tmp,
            serving(Path(tmp), worker_processes=WORKER_PROCESSES) as (port, pids),
        ):
            print(
                f"events: {BATCHES} batches of {BATCH_SIZE} from {CLIENTS} clients, gunicorn + {WORKER_PROCESSES} "
                f"Celery worker process{'es' if WORKER_PROCESSES > 1 else ''} (threads), PostgreSQL + Redis, "
                f"one {'SQL upsert' if STEP == 'sql' else 'sync'} step per event; "
                f"{load()}"
            )
            # Warm-up: connections, caches, and the URL configuration every gunicorn process imports on
            # its first request (a third of a second of CPU inside the measured pass otherwise).
            post_all(port, token, batches(f"warm-{run}")[:WARM_BATCHES])
            wait_processed(fixture.flow, WARM_BATCHES * BATCH_SIZE)
            warm = set(Execution.objects.filter(flow=fixture.flow).values_list("pk", flat=True))
            bodies = batches(run)
            pids.update(server_pids())
            cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
            web = _profile.children(pids["web"]) if PROFILE else []
            with _profile.recording(web, Path(tmp), 2) as accept_profiles:
                seconds, counts, errors = post_all(port, token, bodies)
            accepting = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
            cpu["web"] = accepting["web"]
            print(
                f"  accepted at the API: {counts.get('accepted', 0) / seconds:8.1f} events/s "
                f"({counts.get('accepted', 0)} of {total} accepted in {seconds:.2f} s, {len(errors)} errors)"
            )
            for error in errors[:3]:
                print(f"    error: {error}")
            workers = [pid for name, pid in pids.items() if name.startswith("worker")] if PROFILE else []
            with _profile.recording(workers, Path(tmp), 3) as running:
                wait_processed(fixture.flow, total + len(warm))
            spent = {name: cpu_seconds(pid) - cpu[name] for name, pid in pids.items()}
            cpu["worker"] = sum(seconds for name, seconds in spent.items() if name.startswith("worker"))
            rows = list(
                Execution.objects.filter(flow=fixture.flow)
                .exclude(pk__in=warm)
                .values_list("status", "created", "finished")
            )
            first, last = min(r[1] for r in rows), max(r[2] for r in rows)
            latencies = [(finished - created).total_seconds() * 1000 for _, created, finished in rows]
            succeeded = sum(status == "succeeded" for status, _, _ in rows)
            failed = Execution.objects.filter(flow=fixture.flow).exclude(status="succeeded").first()
            if failed is not None:
                print(f"    first failure: {failed.error[:300]}")
            print(
                f"  processed end to end: {len(rows) / (last - first).total_seconds():8.1f} events/s   "
                f"accept->processed p50 {percentile(latencies, 0.5):8.1f} ms   "
                f"p99 {percentile(latencies, 0.99):8.1f} ms "
                f"({succeeded}/{len(rows)} succeeded)"
            )
            print(
                f"  CPU per event: web {cpu['web'] / total * 1000:.2f} ms (accepting), worker "
                f"{cpu['worker'] / total * 1000:.2f} ms (running its execution); PostgreSQL "
                f"{spent['postgresql'] / total * 1000:.2f} ms and Redis {spent['redis'] / total * 1000:.2f} ms "
                f"over the whole run ({accepting['postgresql'] / total * 1000:.2f} ms and "
                f"{accepting['redis'] / total * 1000:.2f} ms of it while accepting)"
            )
            if PROFILE:
                print("  accepting (web):")
                _profile.print_top(accept_profiles)
                print("  running (workers):")
                _profile.print_top(running)
            seconds, counts, errors = post_all(port, token, bodies)
            print(
                f"  duplicates skipped:   {counts.get('duplicate', 0) / seconds:8.1f} events/s "
                f"({counts.get('duplicate', 0)} of {total} answered duplicate, {len(errors)} errors)"
            )
            with psycopg.connect(url) as target:
                written = target.execute(f"SELECT count(*) FROM {TABLE} WHERE batch LIKE %s", [f"{run}-%"]).fetchone()[
                    0
                ]
            verdict = "all written" if written == total else "MISSING ROWS"
            print(f"  target table: {written}/{total} customers written by this run ({verdict})")
    finally:
        fixture.remove()
    print(f"  {load()} at the end")
    print("  targets on this machine: >= 2,000 events/s accepted, >= 500 events/s processed end to end")


def load() -> str:
    """The machine's load average: on a shared machine the figures mean little without it."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


if __name__ == "__main__":
    main()
