"""The API documentation: every operation under a resource tag with a one-line summary in the user's
words (core/openapi.py), never a developer's docstring; examples for the REST trigger; a docs page that
loads nothing from another host."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from core.openapi import OPERATIONS, TAG_NAMES

# Words of erpflow's developers that have no place in what a user reads.
DEVELOPER_WORDS = ("``", "DRF", "queryset", "viewset", "serializer", "For DRF", "TODO")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path} ({operation['operationId']})", operation


def test_every_operation_has_one_resource_tag_from_the_list(schema):
    wrong = [
        f"{name}: tags {operation.get('tags')}"
        for name, operation in operations(schema)
        if len(operation.get("tags", [])) != 1 or operation["tags"][0] not in TAG_NAMES
    ]
    assert not wrong, "give these a row in core/openapi.py OPERATIONS:\n" + "\n".join(wrong)


def test_every_operation_has_a_one_line_summary_in_the_users_words(schema):
    wrong = []
    for name, operation in operations(schema):
        summary = operation.get("summary", "")
        if not summary or "\n" in summary or len(summary) > 80 or any(w in summary for w in DEVELOPER_WORDS):
            wrong.append(f"{name}: summary {summary!r}")
    assert not wrong, "fix these rows of core/openapi.py OPERATIONS:\n" + "\n".join(wrong)


def test_no_developer_docstring_reaches_the_documentation(schema):
    leaked = [
        f"{name}: {operation['description'][:80]!r}"
        for name, operation in operations(schema)
        if "description" in operation
        and operation["description"] != (OPERATIONS.get(operation["operationId"], ())[2:] or [None])[0]
    ]
    assert not leaked, "\n".join(leaked)
    for _, operation in operations(schema):
        assert not any(word in operation.get("description", "") for word in DEVELOPER_WORDS), operation["description"]


def test_every_row_of_the_table_is_an_operation_that_exists(schema):
    existing = {operation["operationId"] for _, operation in operations(schema)}
    assert set(OPERATIONS) - existing == set(), "rows for operations the API no longer has"


def test_the_documentation_introduces_the_product_and_its_resources(schema):
    assert schema["info"]["title"] == "erpflow API"
    assert "ERP systems" in schema["info"]["description"]
    assert [tag["name"] for tag in schema["tags"]] == TAG_NAMES
    assert all(tag["description"] for tag in schema["tags"])
    for resource in ("connectors", "flows", "executions", "triggers", "events", "monitoring", "tokens", "audit"):
        assert resource in TAG_NAMES


def test_the_rest_trigger_shows_a_request_and_its_answers(schema):
    trigger = schema["paths"]["/api/v1/flows/{slug}/executions/"]["post"]
    request = trigger["requestBody"]["content"]["application/json"]["example"]
    assert request["environment"] and "payload" in request
    finished = trigger["responses"]["200"]["content"]["application/json"]["example"]
    assert finished["status"] == "succeeded" and finished["output"] and finished["steps"]
    running = trigger["responses"]["202"]["content"]["application/json"]["example"]
    assert running["status"] == "running" and running["url"]
    assert "detail" in trigger["responses"]["409"]["content"]["application/json"]["example"]
    # Every example has the fields its schema requires.
    components = schema["components"]["schemas"]
    for status, name in (("200", "ExecutionResult"), ("202", "Execution")):
        example = trigger["responses"][status]["content"]["application/json"]["example"]
        assert set(components[name]["required"]) <= set(example), status
    assert set(components["TriggerRequest"]["required"]) <= set(request)


@pytest.mark.django_db
def test_the_docs_page_asks_no_other_host_for_fonts(client):
    page = client.get("/api/docs/").content.decode()
    assert "fonts.googleapis.com" not in page and "https://" not in page
    assert "redoc" in page.lower()
