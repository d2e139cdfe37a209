"""Fixtures of the flow tests: environments, published flows and executions ready to run."""

from __future__ import annotations

import pytest

from accounts.models import Variable
from flows import versions
from flows.models import Execution, Flow


@pytest.fixture
def secret_var(org, sandbox):
    """A secret variable of the sandbox: its value must never be recorded anywhere."""
    var = Variable(organization=org, environment=sandbox, key="API_KEY", secret=True)
    var.set_value("s3cr3t-Key-42")
    var.save()
    return "s3cr3t-Key-42"


@pytest.fixture
def publish(org, owner):
    """Create a flow with ``graph`` as its draft and publish it; returns the version."""
    counter = iter(range(1, 10_000))

    def make(graph: dict, name: str | None = None):
        n = next(counter)
        flow = Flow.objects.create(organization=org, name=name or f"Flow {n}", slug=f"flow-{n}")
        problems = versions.save_draft(flow, graph, owner)
        assert problems == [], [p.message for p in problems]
        return versions.publish(flow, owner, "test")

    return make


@pytest.fixture
def start(org, sandbox):
    """A queued execution of ``version`` in the sandbox with ``payload`` as its trigger payload."""

    def make(version, payload=None, *, environment=None, correlation_id="", headers=None, query=None):
        return Execution.objects.create(
            organization=org,
            flow=version.flow,
            version=version,
            environment=environment or sandbox,
            trigger=Execution.Trigger.API,
            input={"payload": payload if payload is not None else {}, "headers": headers or {}, "query": query or {}},
            correlation_id=correlation_id,
        )

    return make


# -- database connectors (the Connector Manager's types) ---------------------------------------------

_SETTING_SOURCES = {
    "host": lambda u: u.hostname,
    "hostname": lambda u: u.hostname,
    "port": lambda u: u.port,
    "database": lambda u: u.path.lstrip("/"),
    "dbname": lambda u: u.path.lstrip("/"),
    "username": lambda u: u.username or "",
    "user": lambda u: u.username or "",
    "password": lambda u: u.password or "",
}


def database_type(family: str):
    """The catalog's connector type for ``postgres`` or ``mysql`` (MariaDB), whatever its key is."""
    from connectors import catalog

    matches = [t for t in catalog.all_types() if family in t.key.lower() or family in t.label.lower()]
    assert matches, f"the connector catalog has no {family} type: {[t.key for t in catalog.all_types()]}"
    return matches[0]


def settings_for(type_cls, url: str) -> dict:
    """Settings of a database type pointing at ``url``: connection fields from the URL, defaults elsewhere."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    values = {}
    for field in type_cls.fields:
        source = _SETTING_SOURCES.get(field.name)
        if source is not None and source(parts) not in (None, ""):
            values[field.name] = source(parts)
        elif field.default is not None:
            values[field.name] = field.default
    return values


@pytest.fixture
def make_connector(org):
    """A database connector of ``family`` at ``url``, configured for the given environments.

    Its settings are stored the way the Connector Manager stores them (``connectors.values.clean``:
    defaults applied, secrets encrypted); the pools the test opened are closed afterwards.
    """
    from connectors import pools, values
    from connectors.models import Connector, ConnectorSettings

    def make(family: str, url: str, environments, *, name: str | None = None, organization=None, **fields):
        type_cls = database_type(family)
        connector = Connector.objects.create(
            organization=organization or org, type_key=type_cls.key, name=name or f"{family} db", **fields
        )
        for environment in environments:
            ConnectorSettings.objects.create(
                connector=connector, environment=environment, values=values.clean(type_cls, settings_for(type_cls, url))
            )
        return connector

    yield make
    pools.close_all()
