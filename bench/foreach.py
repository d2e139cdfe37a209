"""A for-each over 10,000 rows read by an SQL step, each batch written to PostgreSQL by the body.

The flow: ``source`` (``SELECT`` 10,000 rows from a table of the connector's database), then a
for-each over ``steps.source.rows`` whose body is one SQL step writing into ``bench_sink``. Two
shapes are measured, each on a fresh ``bench_sink`` after a warm-up run of the same shape:

- batch size 500, one batch at a time: the body binds the whole batch as ONE parameter (JSON text,
  ``{{ item | tojson }}``) and inserts it with ``INSERT ... SELECT FROM jsonb_to_recordset(...)``;
- batch size 1, 8 items at a time: the body is a plain ``INSERT ... VALUES`` with three bound values;
- for comparison, batch size 1 one at a time, with that SQL body and with a mapping body instead
  (pure: its step records wait in memory and are written a hundred at a time, ``flows.engine``;
  its overhead per item includes the mapping's own work, and it writes no rows).

The engine runs in this process (``flows.engine.run``, as a worker runs it). Figures printed:

- rows per second: 10,000 / the for-each step's wall time (and / the whole execution's);
- engine overhead per item: the time spent running the body's batches (each call of the engine's
  ``run_group`` for one batch, summed over the item threads) minus the time spent inside the
  connector calls of the body (``connectors.runtime.call``: pool checkout, the statement and its
  result), divided by the 10,000 items. What is left is the engine's own work per batch: properties,
  rendering the statement, the control checks and the StepRun INSERT. With 8 threads on a small
  machine the sum also holds the threads' waits for the GIL, so it is an upper bound there;
- database connections opened during the measured run (``pg_stat_database.sessions``; target 0
  after warm-up), to the connector's database and to the app's own (the item threads of a
  for-each with a concurrency above 1 each open a Django connection and close it when the loop ends).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/foreach.py
"""

from __future__ import annotations

import contextvars
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.engine import setup_django  # noqa: E402 - the repository root is on the path now

ROWS = int(os.environ.get("BENCH_FOREACH_ROWS", "10000"))
SOURCE = "SELECT id, name, amount FROM bench_source ORDER BY id"
BULK = (
    "INSERT INTO bench_sink (id, name, amount) SELECT id, name, amount "
    "FROM jsonb_to_recordset(CAST({{ item | tojson }} AS jsonb)) AS r(id int, name text, amount numeric)"
)
SINGLE = "INSERT INTO bench_sink (id, name, amount) VALUES ({{ item.id }}, {{ item.name }}, {{ item.amount }})"
MAPPING = '{"id": item.id, "amount": item.amount}'  # a pure body: its records wait and go in batches
SHAPES = (
    ("batch size 500, concurrency 1", 500, 1, BULK),
    ("batch size 1, concurrency 8", 1, 8, SINGLE),
    ("batch size 1, concurrency 1 (for comparison)", 1, 1, SINGLE),
    ("batch size 1, concurrency 1, a mapping body instead (no connector call)", 1, 1, MAPPING),
)


def target_url() -> tuple[str, str]:
    """The connector's database (``<DATABASE_URL's name>_foreachbench``) with its 10,000 source rows."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_foreachbench"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{server}/{name}", autocommit=True) as target:
        target.execute("DROP TABLE IF EXISTS bench_source")
        target.execute("CREATE TABLE bench_source (id int PRIMARY KEY, name text NOT NULL, amount numeric NOT NULL)")
        target.execute(
            "INSERT INTO bench_source SELECT n, 'order ' || n, n * 1.5 FROM generate_series(1, %s) n", [ROWS]
        )
        target.execute("CREATE TABLE IF NOT EXISTS bench_sink (id int, name text, amount numeric)")
    return f"{server}/{name}", name


def sink_count(url: str, *, empty: bool = False) -> int:
    import psycopg

    with psycopg.connect(url, autocommit=True) as target:
        if empty:
            target.execute("TRUNCATE bench_sink")
        return target.execute("SELECT count(*) FROM bench_sink").fetchone()[0]


class Clocks:
    """Time inside the body's connector calls and inside the body's batches, summed over threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connector = 0.0
        self.batches = 0.0
        self.calls = 0
        self.inside = contextvars.ContextVar("inside_body", default=False)

    def reset(self) -> None:
        self.connector = self.batches = 0.0
        self.calls = 0

    def install(self) -> None:
        from connectors import runtime
        from flows import engine
        from flows.plans import TOP

        call, run_group, clocks = runtime.call, engine._Run.run_group, self

        def timed_call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                if clocks.inside.get():  # a call of the body (the item threads copy the context)
                    with clocks.lock:
                        clocks.connector += time.perf_counter() - began
                        clocks.calls += 1

        def timed_group(delivery, group, *args, **kwargs):
            if group is TOP:
                return run_group(delivery, group, *args, **kwargs)
            began = time.perf_counter()
            token = clocks.inside.set(True)
            try:
                return run_group(delivery, group, *args, **kwargs)
            finally:
                clocks.inside.reset(token)
                with clocks.lock:
                    clocks.batches += time.perf_counter() - began

        runtime.call = timed_call
        engine._Run.run_group = timed_group


def main() -> None:
    setup_django()
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import Environment, Organization
    from bench.sql_flow import connections_probe, connector_settings, postgres_type
    from connectors import pools, values
    from connectors.models import Connector, ConnectorSettings
    from flows import engine, versions
    from flows.models import Execution, Flow, StepRun

    url, database = target_url()
    clocks = Clocks()
    clocks.install()
    probe = connections_probe(database)
    app_probe = connections_probe(connection.settings_dict["NAME"])
    user = get_user_model().objects.create_user(username=f"bench-foreach-{os.getpid()}-{time.time_ns()}")
    organization = Organization.create("For-each benchmark", owner=user)
    try:
        environment = Environment.objects.get(organization=organization, slug="sandbox")
        type_cls = postgres_type()
        connector = Connector.objects.create(organization=organization, type_key=type_cls.key, name="Bench orders")
        stored = values.clean(type_cls, connector_settings(type_cls, url))
        ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
        print(f"foreach: {ROWS} rows from an SQL step into PostgreSQL through a for-each (engine in-process)")
        for number, (label, batch_size, concurrency, body) in enumerate(SHAPES):
            kind = {"kind": "mapping"} if body is MAPPING else {"kind": "connector", "connector": connector.pk}
            graph = {
                "steps": [
                    {"id": "source", "kind": "connector", "name": "source", "connector": connector.pk,
                     "instruction": SOURCE, "timeout_ms": 30000, "position": {"x": 0, "y": 0}},
                    {"id": "loop", "kind": "foreach", "name": "loop", "items": "{{ steps.source.rows }}",
                     "batch_size": batch_size, "concurrency": concurrency, "timeout_ms": 60000,
                     "position": {"x": 0, "y": 1}},
                    {"id": "write", **kind, "name": "write", "group": "loop",
                     "instruction": body, "timeout_ms": 30000, "position": {"x": 0, "y": 0}},
                ],
                "edges": [{"source": "source", "target": "loop"}],
            }  # fmt: skip
            flow = Flow.objects.create(organization=organization, name=label, slug=f"shape-{number}")
            problems = versions.save_draft(flow, graph, user)
            assert not problems, [p.message for p in problems]
            version = versions.publish(flow, user, "bench")

            def once(version=version, flow=flow):
                execution = Execution.objects.create(
                    organization=organization, flow=flow, version=version, environment=environment,
                    trigger=Execution.Trigger.API, input={"payload": {}, "headers": {}, "query": {}},
                )  # fmt: skip
                clocks.reset()
                began = time.perf_counter()
                finished = engine.run(execution.pk)
                wall = time.perf_counter() - began
                assert finished.status == Execution.Status.SUCCEEDED, finished.error
                return execution, wall

            sink_count(url, empty=True)
            once()  # warm-up: the plan cached, the pool open at the size this shape needs
            sink_count(url, empty=True)
            with probe() as after, app_probe() as app_after:
                execution, wall = once()
                connections = after(None) + "\n" + app_after(None).replace(" (pg_stat", " (the app's; pg_stat")
            loop = StepRun.objects.get(execution=execution, step_id="loop", scope="")
            written = sink_count(url)
            batches = -(-ROWS // batch_size)
            overhead_ms = (clocks.batches - clocks.connector) * 1000 / ROWS
            print(f"  {label}: {batches} batches, {written} rows written")
            seconds = loop.duration_ms / 1000
            print(f"    rows per second: {ROWS / seconds:,.0f} (for-each step, {seconds:.2f} s); "
                  f"{ROWS / wall:,.0f} over the whole execution ({wall:.2f} s)")  # fmt: skip
            print(f"    time in the body's batches {clocks.batches:.2f} s (thread-summed), of it in connector calls "
                  f"{clocks.connector:.2f} s ({clocks.calls} calls)")  # fmt: skip
            print(f"    engine overhead per item: {overhead_ms:.4f} ms ({overhead_ms * batch_size:.3f} ms per batch)")
            print(connections)
        print("  target: engine overhead <= 0.1 ms per item with batches; no connections opened after warm-up")
    finally:
        pools.close_all()
        Execution.objects.filter(organization=organization).delete()
        Flow.objects.filter(organization=organization).delete()
        Connector.objects.filter(organization=organization).delete()
        organization.delete()
        user.delete()


if __name__ == "__main__":
    main()
