"""Fixtures of the SAP tests: mock-sap as a real server process, SAP connectors pointing at it.

mock-sap runs once per test session on a free 127.0.0.1 port, requiring basic auth; every test
starts from its initial data with no fault or BAPI behaviour rule left by another test.
"""

from __future__ import annotations

import pytest

from tests.api.conftest import make_flow, worker_pool, workers  # noqa: F401 - fixtures shared with the API tests
from tests.flows.conftest import make_connector, publish, start  # noqa: F401 - flow fixtures shared too
from tests.sap import mockserver

SLOW_MS = 1500  # what mock-sap's "slow" scenario waits: well past the short step timeouts of the tests


@pytest.fixture(scope="session")
def mock_sap_server(tmp_path_factory):
    server = mockserver.start(args=("--slow-ms", str(SLOW_MS)), log=tmp_path_factory.mktemp("mock-sap") / "out.log")
    yield server
    server.stop()


@pytest.fixture
def mock_sap(mock_sap_server):
    mock_sap_server.control("POST", "/_mock/reset")
    mock_sap_server.control("DELETE", "/_mock/faults")
    mock_sap_server.control("DELETE", "/_mock/bapi-behaviour")
    return mock_sap_server


@pytest.fixture
def soap_settings(mock_sap):
    """Incoming settings of a SOAP connector to the mock, as a person would type them."""
    return {
        "transport": "soap",
        "soap_url": mock_sap.soap_url,
        "client": "100",
        "user": mock_sap.user,
        "passwd": mock_sap.password,
        "min_idle": 0,
    }


@pytest.fixture
def sap_connector(org):
    """A SAP connector with ``settings`` (incoming form) stored for the given environments; pools closed after."""
    from connectors import pools, values
    from connectors.catalog.sap import SapType
    from connectors.models import Connector, ConnectorSettings

    counter = iter(range(1, 10_000))

    def make(settings: dict, environments, **fields):
        fields.setdefault("name", f"SAP {next(counter)}")
        connector = Connector.objects.create(organization=org, type_key=SapType.key, **fields)
        for environment in environments:
            ConnectorSettings.objects.create(
                connector=connector, environment=environment, values=values.clean(SapType, settings)
            )
        return connector

    yield make
    pools.close_all()
