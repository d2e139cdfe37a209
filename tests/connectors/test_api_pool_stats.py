"""Live pool statistics through the API, from a pool really open on the local PostgreSQL server."""

from __future__ import annotations

import pytest

from connectors import pools, runtime
from connectors.catalog.base import Deadline
from connectors.models import Connector

pytestmark = pytest.mark.django_db


@pytest.fixture
def closing_pools():
    yield
    pools.close_all()


def test_pool_stats_answer_each_environment_with_the_live_figures(create_connector, api, pg_values, closing_pools):
    body = create_connector(settings={"sandbox": {**pg_values, "min_idle": 2, "max_pool": 4}, "production": pg_values})
    url = f"/api/v1/connectors/{body['id']}/pool-stats/"
    before = api.get(url).json()
    assert set(before) == {"sandbox", "production"}
    assert before["sandbox"]["processes"] == 0
    connector = Connector.objects.get(pk=body["id"])
    sandbox = connector.settings.get(environment__slug="sandbox").environment
    output = runtime.call(connector, sandbox, "SELECT 1 AS one", {}, Deadline(5000))
    assert output["rows"] == [{"one": 1}]
    stats = api.get(url).json()
    assert stats["sandbox"]["processes"] == 1
    assert stats["sandbox"]["revision"] == 1
    assert stats["sandbox"]["max_size"] == 4
    assert stats["sandbox"]["min_idle"] == 2
    assert 1 <= stats["sandbox"]["size"] <= 4
    assert stats["sandbox"]["in_use"] == 0
    assert stats["production"]["processes"] == 0
