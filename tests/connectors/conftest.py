"""Fixtures of the connector tests: environments, settings for the local servers, API clients per role."""

from __future__ import annotations

import socket

import pytest

# Helper Q's fixtures (API and pages) ---------------------------------------------------------------

SECRET = "s3cr3t-Pa55word-never-shown"


def closed_port() -> int:
    """A local TCP port nothing listens on (bound by the system, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def pg_values(pg_settings):
    """``pg_settings`` with a known password: the local server trusts 127.0.0.1, so it is never checked."""
    return {**pg_settings, "password": SECRET}


@pytest.fixture
def create_connector(api, pg_values):
    """Create a connector through the API as the owner; answers the response body."""
    counter = iter(range(1, 10_000))

    def create(*, status: int = 201, **body):
        body.setdefault("name", f"Warehouse {next(counter)}")
        body.setdefault("type", "postgres")
        body.setdefault("settings", {"sandbox": dict(pg_values)})
        response = api.post("/api/v1/connectors/", body, format="json")
        assert response.status_code == status, response.content
        return response.json()

    return create


# Helper P's fixtures (types, pools, runtime) ----------------------------------------------------------


@pytest.fixture
def database_connector(org):
    """A connector of ``type_key`` with ``settings`` (incoming form) stored for the given environments.

    Stored through ``connectors.values.clean`` as the Connector Manager does; every pool opened by
    the test is closed afterwards.
    """
    from connectors import catalog, pools, values
    from connectors.models import Connector, ConnectorSettings

    counter = iter(range(1, 10_000))

    def make(type_key: str, settings: dict, environments, **fields):
        type_cls = catalog.type_class(type_key)
        fields.setdefault("name", f"{type_key} {next(counter)}")
        connector = Connector.objects.create(organization=org, type_key=type_key, **fields)
        for environment in environments:
            ConnectorSettings.objects.create(
                connector=connector, environment=environment, values=values.clean(type_cls, settings, organization=org)
            )
        return connector

    yield make
    pools.close_all()


@pytest.fixture
def mysql_account(mysql_url):
    """A MariaDB user of its own with a real password (root has none), dropped afterwards.

    Its name tells this test's connections apart in the processlist.
    """
    import uuid
    from urllib.parse import urlsplit

    import pymysql

    parts = urlsplit(mysql_url)
    user, password = f"erpflow_{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex[:12]}"
    database = parts.path.lstrip("/")
    admin = pymysql.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root", password=parts.password or ""
    )
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
        cursor.execute(f"GRANT ALL ON `{database}`.* TO '{user}'@'%'")
    settings = {
        "host": parts.hostname,
        "port": parts.port or 3306,
        "database": database,
        "username": user,
        "password": password,
    }
    yield settings, admin
    from connectors import pools

    pools.close_all()
    with admin.cursor() as cursor:
        cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    admin.close()


def under_load(work, *, threads: int, sample) -> tuple[int, list[Exception]]:
    """Run ``work()`` in ``threads`` threads while another samples ``sample()`` every 5 ms.

    Answers the highest sample and the exceptions the workers raised.
    """
    import threading
    import time

    peak = 0
    errors: list[Exception] = []
    stop = threading.Event()

    def watch():
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, sample())
            time.sleep(0.005)

    def guarded():
        try:
            work()
        except Exception as exc:
            errors.append(exc)

    watcher = threading.Thread(target=watch)
    watcher.start()
    workers = [threading.Thread(target=guarded) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    stop.set()
    watcher.join()
    return peak, errors
