"""A managed call's mappings and request expressions run within the budgets of ``expressions.budgets``: a bomb
is answered at once with the stage and the budget it exceeded, instead of holding a web worker."""

from __future__ import annotations

import pytest

from tests.http import server as srv

pytestmark = pytest.mark.django_db
EXECUTE = "/api/v1/managed-calls/{}/execute"
REGEX_BOMB = '$match("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!", /^(a|a)+$/)'


@pytest.fixture
def connector(http_connector):
    return http_connector({"auth_type": "bearer", "token": srv.TOKEN})


@pytest.mark.parametrize(
    "fields,stage,code",
    [
        ({"request_mapping": "$sum([1..10000000])"}, "request_mapping", 422),
        ({"request": "GET /echo/{{ ('x' * 100).join('a' * 1000000) }}"}, "request", 422),
        ({"response_mapping": REGEX_BOMB}, "response_mapping", 504),
    ],
    ids=["range in the request mapping", "join in the request", "regex in the response mapping"],
)
def test_a_bomb_in_a_managed_call_is_answered_with_the_budget_it_exceeded(api, connector, fields, stage, code):
    body = {
        "name": "Bomb",
        "slug": "bomb",
        "connector": connector.pk,
        "environment": "sandbox",
        "request": "GET /echo/x",
        "request_mapping": "",
        "response_mapping": "",
        "timeout_ms": 1000,
        **fields,
    }
    assert api.post("/api/v1/managed-calls/", body, format="json").status_code == 201
    response = api.post(EXECUTE.format("bomb"), {"payload": {}}, format="json")
    assert response.status_code == code, response.json()
    assert response.json()["stage"] == stage
    assert "exceeded its" in response.json()["error"] and "budget" in response.json()["error"]
