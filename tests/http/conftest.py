"""Fixtures of the HTTP connector tests: a real API server on 127.0.0.1 and connectors pointing at it.

The connectors reach the server through their admin-set allowlist (``allowed_networks`` 127.0.0.1/32),
never with the egress guard switched off.
"""

from __future__ import annotations

import pytest

from connectors import catalog, pools, values
from connectors.models import Connector, ConnectorSettings
from tests.flows.conftest import publish, secret_var, start  # noqa: F401 - shared fixtures of the flow tests
from tests.http.server import ApiServer

LOCAL = {"allowed_networks": "127.0.0.1/32"}


@pytest.fixture(autouse=True)
def only_the_connectors_allowlist(installation_network_policy):
    """The installation allows no internal address here (unlike the rest of the suite): the test server is
    reachable only because each connector's own allowlist names it."""


@pytest.fixture
def api_server():
    server = ApiServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_connector(org, sandbox, api_server):
    """An HTTP (or Acumatica) connector whose settings are stored as the Connector Manager stores them."""

    def make(settings: dict | None = None, *, type_key="http", name="Partner API", environments=None, **fields):
        type_cls = catalog.type_class(type_key)
        base = {"base_url": api_server.url} if type_key == "http" else {}
        connector = Connector.objects.create(organization=org, type_key=type_key, name=name, **fields)
        for environment in environments or [sandbox]:
            stored = values.clean(type_cls, {**base, **LOCAL, **(settings or {})})
            ConnectorSettings.objects.create(connector=connector, environment=environment, values=stored)
        return connector

    yield make
    pools.close_all()
