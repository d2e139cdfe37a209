"""``make bench``: run every benchmark module of this folder in turn; each prints its own figures.

The PostgreSQL database of ``DATABASE_URL`` is created first when it does not exist yet, so the
benchmarks run on a fresh machine without a manual step (each migrates it itself).
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit


def ensure_database(url: str) -> None:
    if not url.startswith(("postgres://", "postgresql://")):
        return
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}", flush=True)


ensure_database(os.environ.get("DATABASE_URL", ""))
here = Path(__file__).parent
wanted = set(sys.argv[1:])
for module in sorted(here.glob("*.py")):
    if module.stem.startswith("_") or (wanted and module.stem not in wanted):
        continue
    print(f"\n=== bench/{module.name} ===", flush=True)
    runpy.run_path(str(module), run_name="__main__")
