"""Limits every API list and body shares: bounded pages, and a JSON 413 for a body over the limit."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("query", ["limit=99999999999999999999", "offset=99999999999999999999999", "limit=1000"])
def test_any_limit_or_offset_gives_a_page_not_a_database_error(api, query):
    response = api.get(f"/api/v1/environments/?{query}")
    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) <= 500


def test_a_body_over_the_request_limit_is_a_json_413(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({"key": "BIG", "value": "x" * 4096, "environment": "sandbox"})
    response = api.generic("POST", "/api/v1/variables/", body, content_type="application/json")
    assert response.status_code == 413
    assert "the limit is 2,048 bytes" in response.json()["detail"]
