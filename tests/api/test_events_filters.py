"""Events among executions: the API list and the executions page filter by use case (and correlation
id), and the page keeps the filters in its pagination links."""

from __future__ import annotations

import pytest

from flows.models import Execution
from flows.pages import executions as pages
from tests.api.conftest import ADD_FIELD
from tests.api.test_events import event, send

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(api, make_flow, sandbox, execution_of):
    """Two events of 'orders' (batch b-1), one of 'refunds' (b-2), a replay of the first, and a
    REST-triggered execution of the orders flow."""
    orders = make_flow(ADD_FIELD, slug="orders", deploy=[sandbox], use_case_slug="orders", use_case_enabled=True)
    make_flow(ADD_FIELD, slug="refunds", deploy=[sandbox], use_case_slug="refunds", use_case_enabled=True)
    first = send(api, [event(), event()], meta={"correlation_id": "b-1"}).json()["events"]
    other = send(api, [event("refunds")], meta={"correlation_id": "b-2"}).json()["events"]
    Execution.objects.filter(pk=first[0]["id"]).update(status="failed")
    replay = api.post("/api/v1/events/replay", {"event_ids": [first[0]["id"]]}, format="json").json()
    rest = execution_of(orders, correlation_id="b-1")
    return {
        "orders": [first[0]["id"], first[1]["id"], replay["events"][0]["id"]],
        "refunds": [other[0]["id"]],
        "rest": rest.pk,
    }


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_the_api_list_filters_by_use_case_and_correlation_id(api, events):
    assert ids(api.get("/api/v1/executions/?use_case=orders")) == set(events["orders"])
    assert ids(api.get("/api/v1/executions/?use_case=refunds")) == set(events["refunds"])
    assert ids(api.get("/api/v1/executions/?use_case=orders&correlation_id=b-1")) == set(events["orders"])
    assert ids(api.get("/api/v1/executions/?correlation_id=b-1")) == {*events["orders"], events["rest"]}
    assert ids(api.get("/api/v1/executions/?use_case=unknown")) == set()
    assert ids(api.get("/api/v1/executions/?flow=orders")) == {*events["orders"], events["rest"]}


def test_another_organizations_use_case_filters_to_nothing(outsider_api, events):
    assert ids(outsider_api.get("/api/v1/executions/?use_case=orders")) == set()


def test_the_page_filters_by_use_case_and_keeps_it_in_the_pagination_links(session_client, events, monkeypatch):
    monkeypatch.setattr(pages, "PAGE_SIZE", 2)
    first = session_client.get("/executions/?use_case=orders&correlation_id=b-1").content.decode()
    assert '<option value="orders" selected>orders</option>' in first
    assert '<option value="refunds">refunds</option>' in first
    assert "Page 1 of 2 · 3 executions" in first
    assert 'href="?use_case=orders&amp;correlation_id=b-1&amp;page=2"' in first
    second = session_client.get("/executions/?use_case=orders&correlation_id=b-1&page=2").content.decode()
    assert f"#{min(events['orders'])}<" in second and f"#{events['rest']}<" not in second
    assert "Page 2 of 2" in second
    assert "event <span" in second, "the trigger column names the use case of an event"


def test_the_use_case_choices_are_the_organizations_own(session_client, events, make_flow, other_org):
    make_flow(ADD_FIELD, slug="theirs", organization=other_org, use_case_slug="theirs", use_case_enabled=True)
    page = session_client.get("/executions/").content.decode()
    assert 'value="orders"' in page and 'value="theirs"' not in page
    refused = session_client.get("/executions/?use_case=theirs").content.decode()
    assert "Select a valid choice" in refused
