"""``POST /api/v1/instructions/format/``: the step form's Format button writes a BAPI instruction in the
writer's canonical layout, and refuses what does not parse, other languages and comments it would drop."""

from __future__ import annotations

import pytest

from instructions.bapi import parse

pytestmark = pytest.mark.django_db

FORMAT = "/api/v1/instructions/format/"
CRAMPED = "call function bapi_customer_getdetail2 as detail:[(customerno:0001000001,passbuffer:'X')]"


def test_a_bapi_instruction_comes_back_in_canonical_layout(api):
    response = api.post(FORMAT, {"language": "bapi", "text": CRAMPED}, format="json")
    assert response.status_code == 200
    assert response.json() == {
        "text": "CALL FUNCTION BAPI_CUSTOMER_GETDETAIL2 AS detail: [\n  (CUSTOMERNO: 0001000001),\n  (PASSBUFFER: X)\n]"
    }
    assert parse(response.json()["text"]) == parse(CRAMPED)


def test_expressions_and_several_calls_survive_formatting(api):
    text = 'CALL FUNCTION A: [(X: {{trigger.payload.id}}, T: [(F: "a b")])] CALL FUNCTION BAPI_TRANSACTION_COMMIT: []'
    formatted = api.post(FORMAT, {"language": "bapi", "text": text}, format="json").json()["text"]
    assert parse(formatted) == parse(text)
    assert "{{ trigger.payload.id }}" in formatted and formatted.endswith("CALL FUNCTION BAPI_TRANSACTION_COMMIT: []")


def test_a_text_that_does_not_parse_is_a_400_with_its_problems_at_line_and_column(api):
    response = api.post(FORMAT, {"language": "bapi", "text": "CALL FUNCTION X: [\n  (A: 'open)\n]"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert "problems" in body["detail"]
    assert body["problems"][0]["line"] == 2 and body["problems"][0]["column"] == 7
    check = api.post("/api/v1/instructions/check/", {"language": "bapi", "text": "CALL FUNCTION X: [\n  (A: 'open)\n]"})
    assert body["problems"] == check.json()["problems"]


@pytest.mark.parametrize("text", ["# read one customer\nCALL FUNCTION X: []", "CALL FUNCTION X: [\n* old\n(A: 1)]"])
def test_comments_are_not_dropped_silently(api, text):
    response = api.post(FORMAT, {"language": "bapi", "text": text}, format="json")
    assert response.status_code == 400
    assert "the instruction has comments, which formatting would drop" in response.json()["detail"]


def test_a_hash_or_star_inside_a_string_is_not_a_comment(api):
    response = api.post(FORMAT, {"language": "bapi", "text": "CALL FUNCTION X: [(A: '#1 * 2')]"}, format="json")
    assert response.status_code == 200
    assert response.json()["text"] == 'CALL FUNCTION X: [\n  (A: "#1 * 2")\n]'


@pytest.mark.parametrize("language", ["sql", "http", "jsonata", "cobol"])
def test_languages_without_a_formatter_are_a_400_naming_those_with_one(api, language):
    response = api.post(FORMAT, {"language": language, "text": "SELECT 1"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == f"{language} instructions cannot be formatted; these can: bapi."


def test_a_viewer_may_format_and_an_anonymous_caller_may_not(viewer_api, client):
    assert viewer_api.post(FORMAT, {"language": "bapi", "text": CRAMPED}, format="json").status_code == 200
    assert client.post(FORMAT, {"language": "bapi", "text": CRAMPED}, content_type="application/json").status_code in (
        401,
        403,
    )
