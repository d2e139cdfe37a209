"""Where a connector is used, and the refusal to delete one that any flow uses (API 409 and the page)."""

from __future__ import annotations

import pytest

from connectors.models import Connector
from flows import versions
from flows.models import Flow
from tests.flows.builders import graph, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def flow_using(org, owner):
    """A flow whose draft calls ``connector``; ``publish`` also makes it a published version."""

    def make(connector_id: int, name: str, *, publish: bool = False) -> Flow:
        flow = Flow.objects.create(organization=org, name=name, slug=name.lower().replace(" ", "-"))
        problems = versions.save_draft(flow, graph([sql("q", connector_id, "SELECT 1 AS one")]), owner)
        assert problems == [], [p.message for p in problems]
        if publish:
            versions.publish(flow, owner, "first")
        return flow

    return make


def test_usage_lists_the_flows_that_use_the_connector(create_connector, api, flow_using):
    body = create_connector()
    create_connector(name="Unused")
    orders = flow_using(body["id"], "Orders sync")
    flow_using(body["id"], "Billing", publish=True)
    usage = api.get(f"/api/v1/connectors/{body['id']}/usage/").json()
    assert usage["count"] == 2
    assert [f["name"] for f in usage["flows"]] == ["Billing", "Orders sync"]
    entry = usage["flows"][1]
    assert entry == {
        "id": orders.pk,
        "name": "Orders sync",
        "slug": "orders-sync",
        "url": "/api/v1/flows/orders-sync/",
        "page": "/flows/orders-sync/",
    }
    assert api.get(f"/api/v1/connectors/{body['id']}/").json()["used_by"] == 2
    listed = {c["name"]: c["used_by"] for c in api.get("/api/v1/connectors/").json()["results"]}
    assert listed == {body["name"]: 2, "Unused": 0}


def test_deleting_a_used_connector_answers_409_with_the_flows(create_connector, api, flow_using):
    body = create_connector(name="Warehouse")
    flow_using(body["id"], "Orders sync", publish=True)
    response = api.delete(f"/api/v1/connectors/{body['id']}/")
    assert response.status_code == 409
    answer = response.json()
    assert "Connector 'Warehouse' cannot be deleted" in answer["detail"]
    assert "'Orders sync'" in answer["detail"]
    assert [f["slug"] for f in answer["flows"]] == ["orders-sync"]
    assert Connector.objects.filter(pk=body["id"]).exists()


def test_once_the_flow_is_gone_the_connector_can_be_deleted(create_connector, api, flow_using):
    body = create_connector()
    flow = flow_using(body["id"], "Orders sync")
    assert api.delete(f"/api/v1/connectors/{body['id']}/").status_code == 409
    versions.save_draft(flow, graph([]), None)
    assert api.get(f"/api/v1/connectors/{body['id']}/usage/").json() == {"count": 0, "flows": []}
    assert api.delete(f"/api/v1/connectors/{body['id']}/").status_code == 204


def test_the_delete_page_refuses_with_the_flows_named(create_connector, session_client, flow_using):
    body = create_connector(name="Warehouse")
    flow_using(body["id"], "Orders sync", publish=True)
    page = session_client.get(f"/connectors/{body['id']}/delete/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "This connector is in use" in text and "Orders sync" in text
    assert "Delete connector</button>" not in text
    refused = session_client.post(f"/connectors/{body['id']}/delete/")
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.content.decode()
    assert 'href="/flows/orders-sync/"' in refused.content.decode()
    assert Connector.objects.filter(pk=body["id"]).exists()


def test_the_delete_page_confirms_then_deletes_an_unused_connector(create_connector, session_client):
    body = create_connector(name="Warehouse")
    page = session_client.get(f"/connectors/{body['id']}/delete/")
    assert "Delete connector</button>" in page.content.decode()
    response = session_client.post(f"/connectors/{body['id']}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/connectors/"
    assert "Deleted Warehouse" in response.content.decode()
    assert not Connector.objects.filter(pk=body["id"]).exists()


def test_the_connector_page_lists_where_it_is_used(create_connector, session_client, flow_using):
    body = create_connector()
    flow_using(body["id"], "Orders sync")
    text = session_client.get(f"/connectors/{body['id']}/").content.decode()
    assert 'id="where-used"' in text
    assert '<a href="/flows/orders-sync/">Orders sync</a>' in text
