"""Naming a connector one may not use answers exactly as naming one that does not exist (issue 13).

Each test asks with an id that is another organization's (or outside the requester's scope), then
deletes that connector and asks again with the same id, now naming nothing: the two answers must be
byte-identical, or the difference tells that the connector exists.
"""

from __future__ import annotations

import pytest

from connectors.models import Connector
from flows.models import Flow
from tests.flows.builders import graph, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def theirs(other_org):
    return Connector.objects.create(organization=other_org, type_key="http", name="Their ERP")


@pytest.fixture
def hidden(org):
    """A connector of the requester's own organization, scoped to chosen users the editor is not among."""
    return Connector.objects.create(organization=org, type_key="http", name="Payroll", scope=Connector.Scope.CHOSEN)


def managed_call(connector_id: int) -> dict:
    return {"name": "Probe", "slug": "probe", "connector": connector_id, "environment": "sandbox", "request": "GET /x"}


def asked_then_gone(client, connector: Connector, ask) -> tuple[bytes, bytes]:
    connector_id = connector.pk
    first = ask(client, connector_id)
    connector.delete()
    return first, ask(client, connector_id)


def create_call(client, connector_id: int) -> bytes:
    response = client.post("/api/v1/managed-calls/", managed_call(connector_id), format="json")
    assert response.status_code == 400, response.content
    return response.content


@pytest.mark.parametrize("whose", ["theirs", "hidden"])
def test_a_managed_call_naming_a_connector_one_may_not_use_reads_as_a_missing_one(request, editor_api, sandbox, whose):
    connector = request.getfixturevalue(whose)
    exists, missing = asked_then_gone(editor_api, connector, create_call)
    assert exists == missing
    assert "No connector with id " in missing.decode()


def test_changing_a_managed_call_to_another_organizations_connector_reads_as_a_missing_one(api, org, sandbox, theirs):
    mine = Connector.objects.create(organization=org, type_key="http", name="Mine")
    assert api.post("/api/v1/managed-calls/", managed_call(mine.pk), format="json").status_code == 201

    def change(client, connector_id):
        response = client.patch("/api/v1/managed-calls/probe/", {"connector": connector_id}, format="json")
        assert response.status_code == 400, response.content
        return response.content

    exists, missing = asked_then_gone(api, theirs, change)
    assert exists == missing


def test_a_draft_naming_another_organizations_connector_reads_as_a_missing_one(api, org, theirs):
    Flow.objects.create(organization=org, name="Orders", slug="orders")

    def save(client, connector_id):
        body = graph([sql("a", connector_id, "GET /x")])
        response = client.put("/api/v1/flows/orders/draft/", body, format="json")
        assert response.status_code == 400, response.content
        return response.content

    exists, missing = asked_then_gone(api, theirs, save)
    assert exists == missing
    assert "does not exist in this organization" in missing.decode()
