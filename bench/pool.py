"""Pooled versus unpooled: 10,000 ``SELECT 1`` from 8 threads against the local PostgreSQL.

The pooled run goes through the PostgreSQL connector type's pool and ``execute`` (what
``connectors.runtime.call`` does for a flow step, without the registry lookup); the unpooled run
opens a new psycopg connection for every call, as a step without a pool would. Prints calls per
second for both and their ratio, the connections opened during the pooled run (from the pool's
counters and, as a cross-check, the backends with the pool's application_name that the server
started during the run) and the pool's peak size, sampled while the run goes on.
Targets: connections opened equal the pool size (nothing per call); the peak never above the
maximum pool size.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/pool.py
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

CALLS = int(os.environ.get("BENCH_POOL_CALLS", "10000"))
THREADS = 8


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def server_settings() -> dict:
    """The connector's resolved settings: the server of ``DATABASE_URL`` (or the local default), its
    ``postgres`` database unless ``BENCH_POOL_DATABASE`` names another (``SELECT 1`` needs no tables)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    on_postgres = "postgresql" in db["ENGINE"]
    return {
        "host": (db["HOST"] if on_postgres else "") or "127.0.0.1",
        "port": int((db["PORT"] if on_postgres else "") or 5432),
        "database": os.environ.get("BENCH_POOL_DATABASE", "postgres"),
        "username": (db["USER"] if on_postgres else "") or "postgres",
        "password": (db["PASSWORD"] if on_postgres else "") or "",
        "owner": None,
        "role": None,
        "ssl_mode": "prefer",
        "connect_timeout": 10,
        "min_idle": 5,
        "max_pool": 20,
        "idle_timeout_ms": 600_000,
    }


def in_threads(work) -> float:
    """Run ``work(n)`` for CALLS calls split over THREADS threads; answers the elapsed seconds."""
    share = [CALLS // THREADS + (1 if i < CALLS % THREADS else 0) for i in range(THREADS)]
    threads = [threading.Thread(target=work, args=(n,)) for n in share]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def pooled(settings: dict) -> tuple[float, dict, int, int]:
    import psycopg

    from connectors import catalog
    from connectors.catalog.base import Deadline

    kind = catalog.connector_type("postgres")
    name = f"erpflow bench pool {os.getpid()}"
    conninfo = psycopg.conninfo.make_conninfo(
        host=settings["host"],
        port=settings["port"],
        dbname=settings["database"],
        user=settings["username"],
        password=settings["password"],
    )
    with psycopg.connect(conninfo, autocommit=True) as observer:
        server_start = observer.execute("SELECT now()").fetchone()[0]
        pool = kind.open(settings, name=name)
        peak = 0
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, pool.stats()["size"])
                time.sleep(0.001)

        def work(n: int):
            for _ in range(n):
                deadline = Deadline(3000)
                with pool.connection(deadline) as conn:
                    kind.execute(conn, "SELECT 1", {}, deadline, {})

        sampler = threading.Thread(target=sample)
        sampler.start()
        elapsed = in_threads(work)
        done.set()
        sampler.join()
        stats = pool.stats()
        started_on_server = observer.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND backend_start >= %s",
            [name, server_start],
        ).fetchone()[0]
        pool.close()
    return elapsed, stats, peak, started_on_server


def unpooled(settings: dict) -> float:
    import psycopg

    def work(n: int):
        for _ in range(n):
            with psycopg.connect(
                host=settings["host"],
                port=settings["port"],
                dbname=settings["database"],
                user=settings["username"],
                password=settings["password"],
                autocommit=True,
            ) as conn:
                conn.execute("SELECT 1").fetchall()

    return in_threads(work)


def main() -> None:
    setup_django()
    settings = server_settings()
    print(
        f"  {CALLS} x SELECT 1 from {THREADS} threads on {settings['host']}:{settings['port']}/{settings['database']}"
    )
    pool_seconds, stats, peak, started = pooled(settings)
    plain_seconds = unpooled(settings)
    pool_rate, plain_rate = CALLS / pool_seconds, CALLS / plain_seconds
    print(f"  pooled:                   {pool_rate:10.0f} calls/s ({pool_seconds:.2f} s)")
    print(f"  new connection per call:  {plain_rate:10.0f} calls/s ({plain_seconds:.2f} s)")
    print(f"  ratio:                    {pool_rate / plain_rate:10.1f} x")
    print(
        f"  connections opened during the pooled run: {stats['opened']} (pool counters); "
        f"{started} started on the server with the pool's application_name"
    )
    print(f"  pool peak size: {peak} (maximum {settings['max_pool']}, minimum idle {settings['min_idle']})")
    print(f"  new connections opened by the unpooled run: {CALLS}")
    print("  targets: connections opened == pool size, nothing per call; peak <= maximum pool size")


if __name__ == "__main__":
    main()
