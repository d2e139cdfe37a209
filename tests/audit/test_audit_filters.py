"""The audit log's filters read what a person types: a ``%`` in a date is a 400 like any other text that is
no date (django-filter formats its messages with ``%``), and the filters never hide one event."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["50%", "%s", "2025-02-30%d"])
def test_a_percent_sign_in_a_date_is_a_400_that_quotes_it(api, session_client, value):
    response = api.get("/api/v1/audit/", {"until": value})
    assert response.status_code == 400, response.content
    assert f"'{value}' is not an ISO 8601 date" in response.json()["errors"]["until"][0]
    page = session_client.get("/audit/", {"until": value})
    assert page.status_code == 400
    assert "until: " in page.content.decode()


def test_the_filters_narrow_the_list_only_never_one_event(world, api):
    event = api.get("/api/v1/audit/", {"object_type": "flow"}).json()["results"][0]
    response = api.get(f"/api/v1/audit/{event['id']}/", {"object_type": "webhook", "since": "yesterday"})
    assert response.status_code == 200, response.content
    assert response.json()["id"] == event["id"]
