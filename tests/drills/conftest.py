"""Fixtures of the fault drills: real worker processes, the effects table, and servers a drill may restart."""

from __future__ import annotations

import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests.drills.servers import PostgresCluster, RedisServer
from tests.flows.conftest import make_connector, publish, start  # noqa: F401 - fixtures shared with the flow tests
from tests.flows.workers import Workers, database_url


@pytest.fixture
def effects(postgres_url):
    """A table in an external PostgreSQL where each SQL step leaves a row every time it really runs."""
    table = f"effects_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (execution_id int, step_id text, input text, at timestamptz)")
    yield table
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE {table}")


@pytest.fixture
def own_redis(tmp_path, redis_url):
    """A Redis server of this drill alone (``redis_url`` only proves redis-server can run here)."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def workers(redis_url, tmp_path):
    pool = Workers(redis_url, tmp_path)
    yield pool
    pool.close()


@pytest.fixture
def workers_on_own_redis(own_redis, tmp_path):
    """Workers whose broker and Redis (notifications, concurrency slots, pool figures) are ``own_redis``."""
    pool = Workers(own_redis.url, tmp_path)
    pool.env["REDIS_URL"] = own_redis.url
    yield pool
    pool.close()


@pytest.fixture
def own_postgres(transactional_db, org, sandbox, owner, postgres_url):
    """The app's database moved to a PostgreSQL cluster of this drill: the test database (with the
    personas already in it) is copied there, and this process's connection is pointed at it until the
    test ends, so the drill can really stop and start the app's database server."""
    cluster = PostgresCluster(Path(tempfile.mkdtemp(prefix="erpflow-drill-pg-")))
    try:
        cluster.create()
        name = connection.settings_dict["NAME"]
        dump = subprocess.run(
            ["pg_dump", "--no-owner", "--no-privileges", database_url()], capture_output=True, check=True, timeout=120
        )
        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        target = cluster.url.rsplit("/", 1)[0] + f"/{name}"
        load = ["psql", "-q", "-v", "ON_ERROR_STOP=1", target]
        subprocess.run(load, input=dump.stdout, capture_output=True, check=True, timeout=120)
        saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(cluster.port))
        try:
            yield cluster
        finally:
            connection.close()
            connection.settings_dict.update(saved)
    finally:
        cluster.destroy()


@pytest.fixture
def workers_on_own_postgres(own_postgres, redis_url, tmp_path):
    """Workers whose database is the drill's own cluster (``Workers`` reads this process's connection)."""
    pool = Workers(redis_url, tmp_path)
    yield pool
    pool.close()
