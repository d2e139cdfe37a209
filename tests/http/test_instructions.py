"""The HTTP instruction format: problems at their line and column, values encoded, bodies built as structures."""

from __future__ import annotations

import pytest

from expressions.sandbox import ExpressionError
from instructions import check
from instructions.http import render
from instructions.render import render_instruction

CONTEXT = {"trigger": {"payload": {"id": "C/1 & 2", "n": 5, "tags": ["a", "b"], "name": 'say "hi"'}}, "env": {}}


def problems(text: str) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in check("http", text)]


def test_a_full_request_renders_to_its_parts():
    text = (
        "POST /v1/customers/{{ trigger.payload.id }}/orders\n"
        "Accept: application/json\n"
        "# a comment\n"
        "?limit={{ trigger.payload.n }}\n"
        "\n"
        '{"count": {{ trigger.payload.n }}, "tags": {{ trigger.payload.tags }},'
        ' "note": "for {{ trigger.payload.name }}"}'
    )
    rendered = render_instruction("http", None, text, CONTEXT)
    assert rendered.text == "POST /v1/customers/C%2F1%20%26%202/orders"
    assert rendered.params["path"] == "/v1/customers/C%2F1%20%26%202/orders"
    assert rendered.params["query"] == {"limit": "5"}
    assert rendered.params["body"] == {"count": 5, "tags": ["a", "b"], "note": 'for say "hi"'}
    assert rendered.params["body_format"] == "json"


def test_a_payload_cannot_change_the_shape_of_a_json_body():
    hostile = {"trigger": {"payload": {"v": '", "admin": true, "x": "'}}}
    rendered = render('POST /x\n\n{"name": {{ trigger.payload.v }}, "note": "n {{ trigger.payload.v }}"}', hostile)
    assert set(rendered.params["body"]) == {"name", "note"}
    assert rendered.params["body"]["name"] == '", "admin": true, "x": "'


def test_xml_values_are_escaped_by_the_serializer():
    rendered = render(
        'PUT /x\n\n<order id="{{ a }}"><note>{{ b }}</note></order>', {"a": '1" evil="2', "b": "</note><x/>"}
    )
    assert rendered.params["body"] == '<order id="1&quot; evil=&quot;2"><note>&lt;/note&gt;&lt;x/&gt;</note></order>'
    assert rendered.params["body_format"] == "xml"


def test_a_whole_body_expression_is_sent_as_typed_json():
    assert render("POST /x\n\n{{ body }}", {"body": [1, {"a": None}]}).params["body"] == [1, {"a": None}]


@pytest.mark.parametrize("value", ["..", ".", ""])
def test_a_path_value_cannot_walk_to_another_resource(value):
    with pytest.raises(ExpressionError, match="path value"):
        render("GET /orders/{{ v }}/lines", {"v": value})


def test_a_header_value_cannot_inject_another_header():
    with pytest.raises(ExpressionError, match="line break"):
        render("GET /x\nX-Trace: {{ v }}", {"v": "a\r\nX-Admin: 1"})


def test_credential_headers_are_masked_in_what_is_shown_but_sent_as_given():
    rendered = render(
        "GET /x\nAuthorization: Bearer {{ t }}\nCookie: sid=1\nAccept: */*\n?api_key={{ t }}", {"t": "abc"}
    )
    shown = dict(rendered.params["headers"])
    assert shown == {"Authorization": "••••••••", "Cookie": "••••••••", "Accept": "*/*"}
    assert dict(rendered.params["query"]) == {"api_key": "••••••••"}
    assert rendered.params["headers"].real()[0] == ("Authorization", "Bearer abc")


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("", (1, 1), "empty"),
        ("FETCH /x", (1, 1), "not an HTTP method"),
        ("GET", (1, 4), "needs a path"),
        ("GET https://evil.example/x", (1, 5), "must start with '/'"),
        ("GET /a?b=1", (1, 7), "query parameters on their own lines"),
        ("GET /x HTTP/1.1", (1, 7), "not allowed in a path"),
        ("GET /x\nnot a header", (2, 1), "expected a header"),
        ("GET /x\nBad Name: 1", (2, 1), "not a valid header name"),
        ('POST /x\n\n{"a": {{ v }},, }', (3, 15), "JSON body does not parse"),
        ("POST /x\n\n<a><b>{{ v }}</c></a>", (3, 16), "XML body does not parse"),
        ('POST /x\n\n<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>', (3, 1), "DOCTYPE"),
        ("POST /x\n\nname=value", (3, 1), "JSON"),
        ("GET /x/{{ v", (1, 8), "never closed"),
        ("GET /x/{{ v + }}", (1, 8), "not a valid expression"),
    ],
)
def test_problems_are_reported_where_they_are(text, where, message):
    found = problems(text)
    assert found, f"no problem found in {text!r}"
    line, column, text_of_problem = found[0]
    assert (line, column) == where, found
    assert message in text_of_problem


def test_a_valid_instruction_has_no_problems():
    assert problems("DELETE /orders/{{ trigger.payload.id }}\nIf-Match: {{ steps.get.etag }}") == []
