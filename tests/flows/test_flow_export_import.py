"""Export and import of flows as JSON files: connectors by name, clear errors, nothing half-created."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied

from flows import versions
from flows.graph import InvalidGraph
from flows.models import Flow
from flows.portable import export_flow, import_flow
from tests.flows.builders import chain, graph, mapping

GRAPH = graph(
    [mapping("a", '{"n": 1}', name="First"), mapping("b", "steps.first.n", name="Second", y=1)], chain("a", "b")
)


@pytest.fixture
def flow(org, owner):
    flow = Flow.objects.create(organization=org, name="Orders sync", slug="orders-sync", description="Nightly")
    assert versions.save_draft(flow, GRAPH, owner) == []
    return flow


def test_an_export_is_plain_json_with_the_draft(flow):
    data = json.loads(json.dumps(export_flow(flow)))
    assert data["format"] == "erpflow.flow" and data["format_version"] == 1
    assert (data["name"], data["slug"], data["description"], data["enabled"]) == (
        "Orders sync",
        "orders-sync",
        "Nightly",
        True,
    )
    assert data["graph"] == versions.normalize(GRAPH)


def test_importing_into_another_organization_recreates_the_flow(flow, other_org, outsider):
    imported = import_flow(other_org, export_flow(flow), outsider)
    assert imported.organization == other_org
    assert (imported.name, imported.slug, imported.description) == ("Orders sync", "orders-sync", "Nightly")
    assert imported.draft == flow.draft


def test_importing_an_existing_slug_replaces_its_draft_and_keeps_its_versions(flow, org, owner):
    version = versions.publish(flow, owner)
    data = export_flow(flow)
    data["graph"]["steps"][0]["instruction"] = '{"n": 2}'
    data["description"] = "Hourly"
    imported = import_flow(org, data, owner)
    assert imported.pk == flow.pk
    assert imported.draft["steps"][0]["instruction"] == '{"n": 2}'
    assert imported.description == "Hourly"
    assert list(versions.history(imported)) == [version]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: "a string", "must hold a JSON object exported by erpflow"),
        (lambda d: {**d, "format": "n8n"}, "not an erpflow flow export"),
        (lambda d: {**d, "format_version": 2}, "format version 2 is not supported"),
        (lambda d: {**d, "name": " "}, "needs a name"),
        (lambda d: {**d, "name": "!!!", "slug": ""}, "needs a slug"),
        (lambda d: {**d, "graph": []}, "no graph with a list of steps"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message(flow, other_org, outsider, change, message):
    with pytest.raises(InvalidGraph, match=message):
        import_flow(other_org, change(export_flow(flow)), outsider)
    assert not Flow.objects.filter(organization=other_org).exists()


def test_an_invalid_graph_creates_nothing_and_lists_every_problem(flow, other_org, outsider):
    data = export_flow(flow)
    data["graph"]["steps"][0]["timeout_ms"] = 0
    data["graph"]["steps"][1]["instruction"] = ""
    with pytest.raises(InvalidGraph) as refused:
        import_flow(other_org, data, outsider)
    assert sorted(p.field for p in refused.value.problems) == ["instruction", "timeout_ms"]
    assert not Flow.objects.filter(organization=other_org).exists()


def test_a_step_naming_a_connector_the_organization_lacks_is_refused(flow, other_org, outsider):
    data = export_flow(flow)
    data["graph"]["steps"].append(
        {"id": "c", "kind": "connector", "name": "Query", "connector": "Warehouse DB", "instruction": "SELECT 1"}
    )
    with pytest.raises(InvalidGraph) as refused:
        import_flow(other_org, data, outsider)
    [problem] = refused.value.problems
    assert (problem.step, problem.field) == ("c", "connector")
    assert problem.message == (
        "Step 'Query' uses connector 'Warehouse DB', which this organization does not have; "
        "create it (same name) first."
    )


def test_only_admins_may_replace_a_protected_flow_by_import(flow, org, editor):
    flow.protected = True
    flow.save()
    with pytest.raises(PermissionDenied):
        import_flow(org, export_flow(flow), editor)


def test_a_called_flow_travels_by_slug_and_must_exist_where_it_is_imported(org, owner, other_org, outsider):
    callee = Flow.objects.create(organization=org, name="Callee", slug="callee")
    caller = Flow.objects.create(organization=org, name="Caller", slug="caller")
    step = {"id": "c", "kind": "call_flow", "name": "Call", "flow": callee.pk, "position": {"x": 0, "y": 0}}
    assert versions.save_draft(caller, graph([step]), owner) == []
    data = export_flow(caller)
    assert data["graph"]["steps"][0]["flow"] == "callee"

    with pytest.raises(InvalidGraph) as refused:
        import_flow(other_org, data, outsider)
    assert "calls flow 'callee', which this organization does not have" in str(refused.value)
    assert not Flow.objects.filter(organization=other_org, slug="caller").exists()

    theirs = Flow.objects.create(organization=other_org, name="Callee", slug="callee")
    imported = import_flow(other_org, data, outsider)
    assert imported.draft["steps"][0]["flow"] == theirs.pk
