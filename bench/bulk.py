"""Bulk SQL writes: 10,000 rows into PostgreSQL as a ``for_each_row`` step writes them (``executemany``
in batches of 500, one transaction) versus one statement per row (one step call per row).

Both go through the PostgreSQL connector type's pool and its ``execute_many`` / ``execute`` (what
``connectors.runtime.call_many`` and ``call`` do, without the registry lookup). Rendering the rows
(``instructions.render.render_rows``, what the engine does before the call) is timed apart. Prints
rows per second for each, the ratio, and the connections the pool opened after its warm-up.
Targets: batches far ahead of one statement per row; 0 connections opened after warm-up.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/bulk.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.pool import server_settings, setup_django  # noqa: E402 - the repository root is on the path now

ROWS = int(os.environ.get("BENCH_BULK_ROWS", "10000"))
BATCH = 500
TABLE = f"erpflow_bench_bulk_{os.getpid()}"
INSERT = (
    f"INSERT INTO {TABLE} (doc, customer, amount, note) "
    "VALUES ({{ row.doc }}, {{ row.customer }}, {{ row.amount }}, {{ row.note }})"
)


def main() -> None:
    setup_django()
    from connectors import catalog
    from connectors.catalog.base import Deadline
    from instructions.render import render_rows, render_sql

    kind = catalog.connector_type("postgres")
    settings = {**server_settings(), "database": os.environ.get("BENCH_BULK_DATABASE", "postgres")}
    orders = [
        {"doc": f"SO-{n:06d}", "customer": f"C{n % 97:04d}", "amount": n * 1.25, "note": "it's 100% bound"}
        for n in range(ROWS)
    ]
    context = {"steps": {"orders": {"rows": orders}}}
    print(f"  {ROWS} rows into {settings['host']}:{settings['port']}/{settings['database']}, batches of {BATCH}")

    began = time.perf_counter()
    rendered = render_rows(INSERT, "{{ steps.orders.rows }}", context, kind.paramstyle, kind.sql_dialect)
    render_seconds = time.perf_counter() - began

    pool = kind.open({**settings, "min_idle": 1, "max_pool": 1}, name=f"erpflow bench bulk {os.getpid()}")
    try:
        with pool.connection(Deadline(10_000)) as conn:
            kind.execute(conn, f"DROP TABLE IF EXISTS {TABLE}", {}, Deadline(10_000), {})
            kind.execute(
                conn,
                f"CREATE TABLE {TABLE} (doc text PRIMARY KEY, customer text, amount numeric, note text)",
                {},
                Deadline(10_000),
                {},
            )
            kind.execute_many(conn, rendered.text, rendered.rows[:BATCH], Deadline(60_000), {}, BATCH)  # warm-up
            kind.execute(conn, f"TRUNCATE {TABLE}", {}, Deadline(10_000), {})
        opened = pool.stats()["opened"]

        began = time.perf_counter()
        with pool.connection(Deadline(120_000)) as conn:
            output = kind.execute_many(conn, rendered.text, rendered.rows, Deadline(120_000), {}, BATCH)
        bulk_seconds = time.perf_counter() - began
        assert output == {"rows_affected": ROWS, "batches": -(-ROWS // BATCH)}, output

        with pool.connection(Deadline(10_000)) as conn:
            kind.execute(conn, f"TRUNCATE {TABLE}", {}, Deadline(10_000), {})
        began = time.perf_counter()
        for row in orders:  # one step per row: render, borrow, execute (autocommit)
            single = render_sql(INSERT, {**context, "row": row}, kind.paramstyle, kind.sql_dialect)
            deadline = Deadline(3000)
            with pool.connection(deadline) as conn:
                kind.execute(conn, single.text, single.params, deadline, {})
        single_seconds = time.perf_counter() - began
        opened_after_warm_up = pool.stats()["opened"] - opened

        with pool.connection(Deadline(10_000)) as conn:
            kind.execute(conn, f"DROP TABLE {TABLE}", {}, Deadline(10_000), {})
    finally:
        pool.close()

    bulk_rate, single_rate = ROWS / bulk_seconds, ROWS / single_seconds
    print(f"  rendering {ROWS} rows (render_rows):    {ROWS / render_seconds:10.0f} rows/s ({render_seconds:.2f} s)")
    print(f"  executemany, batches of {BATCH}, 1 tx:   {bulk_rate:10.0f} rows/s ({bulk_seconds:.2f} s)")
    print(f"  one statement per row (autocommit):  {single_rate:10.0f} rows/s ({single_seconds:.2f} s)")
    print(f"  ratio:                               {bulk_rate / single_rate:10.1f} x")
    print(f"  connections opened after warm-up:    {opened_after_warm_up:10d}")
    print("  targets: batches far ahead of one statement per row; 0 connections opened after warm-up")


if __name__ == "__main__":
    main()
