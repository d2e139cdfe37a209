"""Expressions nested thousands of levels deep are a problem the editor shows, never a 500.

Saving a draft, publishing it and the instruction check all parse expressions; a parser that recursed
into 3,000 levels hit Python's recursion limit (or the compiler's limit of nested parentheses).
"""

from __future__ import annotations

import pytest

from expressions.mapping import mapping_syntax_error
from expressions.sandbox import syntax_error
from flows.models import Flow
from tests.flows.builders import graph, mapping, sql

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/instructions/check/"
DEPTH = 3000
DEEP_JINJA = {
    "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
    "lists": "[" * DEPTH + "1" + "]" * DEPTH,
    "filters": "1" + "|string" * DEPTH,
    "negations": "not " * DEPTH + "x",
    "sums": "+".join(["x"] * DEPTH),
}
DEEP_JSONATA = {
    "parentheses": "(" * DEPTH + "1" + ")" * DEPTH,
    "arrays": "[" * DEPTH + "1" + "]" * DEPTH,
    "objects": '{"a":' * DEPTH + "1" + "}" * DEPTH,
}
TOO_DEEP = "nested too deeply"


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


@pytest.fixture
def flow(org):
    return Flow.objects.create(organization=org, name="Deep", slug="deep")


@pytest.mark.parametrize("source", DEEP_JINJA.values(), ids=DEEP_JINJA.keys())
def test_a_deep_expression_in_a_draft_is_a_400_naming_the_nesting(api, flow, pg, source):
    response = api.put("/api/v1/flows/deep/draft/", graph([sql("q", pg, "SELECT {{ " + source + " }}")]), format="json")
    assert response.status_code == 400, response.content[:300]
    assert TOO_DEEP in str(response.json())


@pytest.mark.parametrize("source", DEEP_JINJA.values(), ids=DEEP_JINJA.keys())
@pytest.mark.parametrize("language", ["sql", "http", "bapi"])
def test_the_instruction_check_reports_a_deep_expression_as_a_problem(api, language, source):
    text = {
        "sql": "SELECT {{ " + source + " }}",
        "http": "GET /orders/{{ " + source + " }}",
        "bapi": "CALL FUNCTION X: [(P: {{ " + source + " }})]",
    }[language]
    response = api.post(CHECK, {"language": language, "text": text}, format="json")
    assert response.status_code == 200, response.content[:300]
    assert any(TOO_DEEP in problem["message"] for problem in response.json()["problems"]), response.json()


@pytest.mark.parametrize("source", DEEP_JSONATA.values(), ids=DEEP_JSONATA.keys())
def test_a_deep_mapping_is_refused_on_save_and_on_check(api, flow, source):
    response = api.put("/api/v1/flows/deep/draft/", graph([mapping("m", source)]), format="json")
    assert response.status_code == 400, response.content[:300]
    assert TOO_DEEP in str(response.json())
    response = api.post(CHECK, {"language": "jsonata", "text": source}, format="json")
    assert response.status_code == 200
    assert TOO_DEEP in response.json()["problems"][0]["message"]


def test_a_deep_expression_already_stored_cannot_be_published(api, flow, pg):
    Flow.objects.filter(pk=flow.pk).update(draft=graph([sql("q", pg, "SELECT {{ " + DEEP_JINJA["lists"] + " }}")]))
    response = api.post("/api/v1/flows/deep/publish/", {"message": "v1"}, format="json")
    assert response.status_code == 400, response.content[:300]
    assert TOO_DEEP in str(response.json())


def test_ordinary_nesting_still_parses():
    assert syntax_error("concat(concat(concat((1 + (2 * 3)), [[1], [2]]|length), 'a'), 'b')") is None
    assert syntax_error("x|default('a')|upper|replace('A', 'B')|trim|lower") is None
    assert mapping_syntax_error('{"a": [[1, 2], [3, (4 + (5 * 6))]], "b": {"c": {"d": trigger.payload.x}}}') is None


@pytest.mark.parametrize(
    "language,text",
    [
        ("bapi", "CALL FUNCTION X: [(P: " + "[" * 60_000 + "1" + "]" * 60_000 + ")]"),
        ("http", "POST /orders\n\n" + "[" * 60_000 + "1" + "]" * 60_000),
    ],
    ids=["bapi lists", "http json body"],
)
def test_an_instruction_nested_past_the_parsers_recursion_is_a_problem(api, language, text):
    response = api.post(CHECK, {"language": language, "text": text}, format="json")
    assert response.status_code == 200, response.content[:300]
    assert TOO_DEEP in response.json()["problems"][0]["message"]
