"""Shared fixtures: personas (owner, viewer teammate, outsider) and real-service guards."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from accounts.choices import Role, Scope
from accounts.models import ApiToken, Environment, Membership, Organization

START_HINTS = {
    "postgresql": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    "redis": "redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no",
    "mariadb": "start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd",
}


def require_service(name: str, url: str) -> None:
    """Outside CI a missing service skips with how to start it; in CI it is a failure."""
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except OSError as exc:
        message = (
            f"{name} is not reachable at {parts.hostname}:{parts.port} ({exc}); start it with: {START_HINTS[name]}"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """The suite's own database is checked like the other services before pytest-django creates it, so a
    PostgreSQL that is not running skips the tests that need it (and says how to start it) outside CI."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    if "postgresql" in database["ENGINE"]:
        require_service("postgresql", f"postgresql://{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}")


@pytest.fixture(scope="session", autouse=True)
def _kept_threads(django_db_setup):
    """Pooled threads (for-each helpers, eager runs) keep their database connections; closed before
    the test database is dropped."""
    yield
    from core.thread_pools import close_all_connections

    close_all_connections()


@pytest.fixture
def redis_url():
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    require_service("redis", url)
    return url


@pytest.fixture
def mysql_url():
    url = os.environ.get("ERPFLOW_TEST_MYSQL_URL", "mysql://root@127.0.0.1:3306/test")
    require_service("mariadb", url)
    return url


@pytest.fixture
def postgres_url():
    url = os.environ.get("ERPFLOW_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    require_service("postgresql", url)
    return url


def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password="pw-" + username)


@pytest.fixture
def owner(db):
    return make_user("olivia")


@pytest.fixture
def org(owner):
    return Organization.create("Acme", owner=owner)


@pytest.fixture
def viewer(org):
    user = make_user("victor")
    Membership.objects.create(organization=org, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def editor(org):
    user = make_user("edith")
    Membership.objects.create(organization=org, user=user, role=Role.EDITOR)
    return user


@pytest.fixture
def outsider(db):
    user = make_user("oscar")
    Organization.create("Other Corp", owner=user)
    return user


@pytest.fixture
def other_org(outsider):
    return Organization.objects.get(memberships__user=outsider)


def token_client(organization, user, scopes=None) -> APIClient:
    _, plain = ApiToken.issue(
        organization=organization,
        user=user,
        name="test",
        scopes=scopes if scopes is not None else Scope.values,
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return client


@pytest.fixture
def api(org, owner) -> APIClient:
    """The owner, through a bearer token with every scope."""
    return token_client(org, owner)


@pytest.fixture
def editor_api(org, editor) -> APIClient:
    return token_client(org, editor)


@pytest.fixture
def viewer_api(org, viewer) -> APIClient:
    """A viewer's token with every scope: the role alone must stop writes and runs."""
    return token_client(org, viewer)


@pytest.fixture
def outsider_api(other_org, outsider) -> APIClient:
    return token_client(other_org, outsider)


@pytest.fixture
def session_client(owner, org):
    from django.test import Client

    client = Client()
    client.force_login(owner)
    return client


@pytest.fixture
def outsider_session(outsider, other_org):
    from django.test import Client

    client = Client()
    client.force_login(outsider)
    return client


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Personas get passwords; hashing them with production's PBKDF2 costs most of each test's setup."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The suite's connectors reach the PostgreSQL and MariaDB servers on this machine's loopback, and that
# PostgreSQL is also erpflow's own database: the installation's network policy allows exactly that, as an
# operator would, and is never switched off. The Makefile's `test` target exports the same values for
# worker processes. Tests of the policy itself start from `installation_network_policy` instead.
TEST_NETWORK_POLICY = {
    "ERPFLOW_EGRESS_ALLOWED_NETWORKS": os.environ.get("ERPFLOW_EGRESS_ALLOWED_NETWORKS", "127.0.0.1/32,::1/128"),
    "ERPFLOW_EGRESS_ALLOW_INTERNAL": os.environ.get("ERPFLOW_EGRESS_ALLOW_INTERNAL", "127.0.0.1:5432"),
}


@pytest.fixture(autouse=True)
def suite_network_policy(settings, monkeypatch):
    for name, value in TEST_NETWORK_POLICY.items():
        setattr(settings, name, [item for item in value.split(",") if item])
        monkeypatch.setenv(name, value)


@pytest.fixture
def installation_network_policy(settings, monkeypatch):
    """The network policy of an installation that sets none of its variables."""
    for name in TEST_NETWORK_POLICY:
        setattr(settings, name, [])
        monkeypatch.delenv(name, raising=False)
    settings.ERPFLOW_EGRESS_PRIVATE_NETWORKS = []
    return settings


@pytest.fixture(autouse=True)
def data_dir(settings, tmp_path):
    """SQLite connectors (and the demo database) write into a folder of the test, never the repository's var/."""
    settings.ERPFLOW_DATA_DIR = tmp_path / "data"
    return settings.ERPFLOW_DATA_DIR


@pytest.fixture
def sandbox(org):
    return Environment.objects.get(organization=org, slug="sandbox")


@pytest.fixture
def production(org):
    return Environment.objects.get(organization=org, slug="production")


@pytest.fixture
def pg_settings(postgres_url):
    """Incoming settings for the local PostgreSQL server, as a person would type them."""
    parts = urlsplit(postgres_url)
    return {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "database": parts.path.lstrip("/"),
        "username": parts.username or "postgres",
    }
