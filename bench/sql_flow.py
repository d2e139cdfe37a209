"""A two-step SQL flow on a pooled PostgreSQL connector, triggered over HTTP with ``wait``.

The same harness as ``bench/trigger.py`` (gunicorn, a real Celery worker, PostgreSQL and Redis,
1 and 10 clients for ``BENCH_SECONDS`` each), with a flow of two SQL steps: look a customer up by
the payload's id, then a second statement on the first one's result. The connector points at a
database of its own (``<DATABASE_URL's name>_sqlbench``, created and filled here), so its
connections are the only ones there: the figures include how many database connections were
opened during each measured run (``pg_stat_database.sessions``, and the backends started in the
run that ``pg_stat_activity`` still shows). With a warm pool the target is none.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/sql_flow.py
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.trigger import measure, setup_django  # noqa: E402 - the repository root is on the path now

CUSTOMERS = 1000
LOOKUP = f"SELECT id, name FROM bench_customers WHERE id = CAST({{{{ trigger.payload.n % {CUSTOMERS} + 1 }}}} AS int)"
SHOUT = (
    "SELECT upper(CAST({{ steps.lookup.rows[0].name }} AS text)) AS shout, "
    "CAST({{ steps.lookup.rows[0].id }} AS int) AS id"
)


def target_url() -> tuple[str, str]:
    """The connector's database (created and filled when missing) and its name."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_sqlbench"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    server = f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(f"{server}/{name}", autocommit=True) as target:
        target.execute("CREATE TABLE IF NOT EXISTS bench_customers (id int PRIMARY KEY, name text NOT NULL)")
        target.execute(
            "INSERT INTO bench_customers SELECT n, 'customer ' || n FROM generate_series(1, %s) n "
            "ON CONFLICT DO NOTHING",
            [CUSTOMERS],
        )
    return f"{server}/{name}", name


def postgres_type():
    from connectors import catalog

    for type_cls in catalog.all_types():
        if "postgres" in type_cls.key.lower() or "postgres" in type_cls.label.lower():
            return type_cls
    raise SystemExit("the connector catalog has no PostgreSQL type; bench/sql_flow.py needs the Connector Manager")


def connector_settings(type_cls, url: str) -> dict:
    """The type's settings for ``url``: connection fields from the URL, every other field's default."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    from_url = {
        "host": parts.hostname,
        "hostname": parts.hostname,
        "port": parts.port,
        "database": parts.path.lstrip("/"),
        "dbname": parts.path.lstrip("/"),
        "username": parts.username or "",
        "user": parts.username or "",
        "password": parts.password or "",
    }
    values = {}
    for field in type_cls.fields:
        if from_url.get(field.name) not in (None, ""):
            values[field.name] = from_url[field.name]
        elif field.default is not None:
            values[field.name] = field.default
    return values


def prepare_connector(url: str):
    def prepare(organization, sandbox) -> dict:
        from connectors import values
        from connectors.models import Connector, ConnectorSettings

        type_cls = postgres_type()
        connector = Connector.objects.create(organization=organization, type_key=type_cls.key, name="Bench database")
        stored = values.clean(type_cls, connector_settings(type_cls, url))
        ConnectorSettings.objects.create(connector=connector, environment=sandbox, values=stored)
        step = {"kind": "connector", "connector": connector.pk, "timeout_ms": 5000}
        return {
            "steps": [
                {**step, "id": "lookup", "name": "Lookup", "instruction": LOOKUP, "position": {"x": 0, "y": 0}},
                {**step, "id": "shout", "name": "Shout", "instruction": SHOUT, "position": {"x": 0, "y": 1}},
            ],
            "edges": [{"source": "lookup", "target": "shout"}],
        }

    return prepare


def connections_probe(database: str):
    """Counts connections to ``database`` opened while a measured run goes on."""
    from django.db import connection

    def sessions() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", [database])
            return cursor.fetchone()[0]

    def backends(since=None) -> int:
        with connection.cursor() as cursor:
            if since is None:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [database])
            else:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_start >= %s",
                    [database, since],
                )
            return cursor.fetchone()[0]

    @contextmanager
    def probe():
        from django.utils import timezone

        time.sleep(1.5)  # backends flush their session counts when idle for a moment
        before, started = sessions(), timezone.now()

        def after(run) -> str:
            time.sleep(1.5)
            opened, kept = sessions() - before, backends(started)
            return (
                f"    database connections opened during the run: {opened} (pg_stat_database.sessions); "
                f"{kept} started in the run still open; {backends()} open to {database} now"
            )

        yield after

    return probe


def main() -> None:
    setup_django()
    url, database = target_url()

    def check(data: dict, n: int) -> bool:
        rows = (data.get("output") or {}).get("rows") or [{}]
        return data.get("status") == "succeeded" and rows[0].get("shout") == f"CUSTOMER {n % CUSTOMERS + 1}"

    measure("sql_flow", {}, check, prepare=prepare_connector(url), probe=connections_probe(database))
    print("  target: no database connections opened after warm-up")


if __name__ == "__main__":
    main()
