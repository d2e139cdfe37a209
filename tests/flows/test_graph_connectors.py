"""Validation of connector steps: organization, the user's scope, the deploy environment, the language."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from connectors.models import Connector
from flows import graph as graphs
from flows import versions
from flows.graph import InvalidGraph
from flows.models import ConnectorUse, Flow
from flows.portable import export_flow, import_flow
from tests.flows.builders import chain, graph, mapping, sql


@pytest.fixture
def pg(make_connector, postgres_url, sandbox):
    return make_connector("postgres", postgres_url, [sandbox], name="Warehouse")


def messages(g, org, **kwargs):
    return [(p.step, p.field, p.message) for p in graphs.validate(g, org, **kwargs)]


def test_a_valid_sql_step_has_no_problems(org, pg, owner, sandbox):
    g = graph([sql("a", pg, "SELECT * FROM t WHERE id = {{ trigger.payload.id }}")])
    assert graphs.validate(g, org, user=owner, environment=sandbox) == []


def test_a_connector_of_another_organization_is_as_unknown_as_a_missing_one(
    org, other_org, make_connector, postgres_url
):
    foreign = make_connector("postgres", postgres_url, [], name="Theirs", organization=other_org)
    g = graph([sql("a", foreign, "SELECT 1"), sql("b", 999999, "SELECT 1", name="b")])
    assert messages(g, org) == [
        ("a", "connector", f"Step 'a': connector {foreign.pk} does not exist in this organization."),
        ("b", "connector", "Step 'b': connector 999999 does not exist in this organization."),
    ]


def test_a_connector_outside_the_users_scope_is_refused(org, pg, editor):
    pg.scope = Connector.Scope.CHOSEN
    pg.save()
    g = graph([sql("a", pg, "SELECT 1")])
    assert messages(g, org, user=editor) == [
        ("a", "connector", "Step 'a': you may not use connector 'Warehouse'; ask an admin to add you to its scope.")
    ]
    pg.allowed_groups.add(Group.objects.create(name="integrators"))
    editor.groups.add(Group.objects.get(name="integrators"))
    assert messages(g, org, user=editor) == []


def test_a_connector_not_configured_for_the_deploy_environment_is_refused(org, pg, production):
    g = graph([sql("a", pg, "SELECT 1")])
    assert messages(g, org, environment=production) == [
        ("a", "connector", "Step 'a': connector 'Warehouse' is not configured for the 'Production' environment.")
    ]


def test_a_connector_step_without_a_connector_is_refused(org):
    g = graph([{"id": "a", "kind": "connector", "name": "a", "instruction": "SELECT 1"}])
    assert messages(g, org) == [("a", "connector", "Step 'a': choose a connector.")]


def test_an_instruction_that_does_not_parse_in_the_connectors_language_says_where(org, pg):
    g = graph([sql("a", pg, "SELECT 1,\n  'unterminated")])
    [problem] = graphs.validate(g, org)
    assert (problem.step, problem.field, problem.line, problem.column) == ("a", "instruction", 2, 3)
    assert problem.message == "Step 'a': line 2, column 3: this string opened with ' is never closed"


def test_a_reference_to_a_downstream_step_in_sql_is_refused_with_its_position(org, pg):
    g = graph([sql("a", pg, "SELECT {{ steps.later.x }}"), mapping("b", "1", name="later", y=1)], chain("a", "b"))
    [problem] = graphs.validate(g, org)
    assert (problem.line, problem.column) == (1, 8)
    assert "uses the output of step 'later', which is not upstream of it" in problem.message


def test_a_connector_of_an_unavailable_type_is_refused(org, pg):
    Connector.objects.filter(pk=pg.pk).update(type_key="no-such-type")
    g = graph([sql("a", pg, "SELECT 1")])
    assert messages(g, org) == [
        (
            "a",
            "connector",
            "Step 'a': connector 'Warehouse' has type 'no-such-type', which this installation does not provide.",
        )
    ]


def test_deploying_needs_every_connector_configured_for_that_environment(org, owner, pg, sandbox, production):
    flow = Flow.objects.create(organization=org, name="Sync", slug="sync")
    assert versions.save_draft(flow, graph([sql("a", pg, "SELECT 1")]), owner) == []
    version = versions.publish(flow, owner)
    assert versions.deploy(flow, version, sandbox, owner).environment == sandbox
    with pytest.raises(InvalidGraph, match="not configured for the 'Production' environment"):
        versions.deploy(flow, version, production, owner)


def test_connector_uses_follow_the_draft_and_every_version(org, owner, pg, make_connector, postgres_url, sandbox):
    other = make_connector("postgres", postgres_url, [sandbox], name="Other")
    flow = Flow.objects.create(organization=org, name="Sync", slug="sync")
    versions.save_draft(flow, graph([sql("a", pg, "SELECT 1")]), owner)
    versions.publish(flow, owner)
    versions.save_draft(flow, graph([sql("a", other, "SELECT 1")]), owner)
    assert set(ConnectorUse.objects.filter(flow=flow).values_list("connector__name", flat=True)) == {
        "Warehouse",
        "Other",
    }
    versions.save_draft(flow, graph([mapping("a", "1")]), owner)
    assert set(ConnectorUse.objects.filter(flow=flow).values_list("connector__name", flat=True)) == {"Warehouse"}


def test_export_names_connectors_and_import_maps_them_back(
    org, owner, pg, other_org, outsider, make_connector, postgres_url
):
    flow = Flow.objects.create(organization=org, name="Sync", slug="sync")
    versions.save_draft(flow, graph([sql("a", pg, "SELECT 1")]), owner)
    data = export_flow(flow)
    assert data["graph"]["steps"][0]["connector"] == "Warehouse"

    theirs = make_connector("postgres", postgres_url, [], name="Warehouse", organization=other_org)
    imported = import_flow(other_org, data, outsider)
    assert imported.draft["steps"][0]["connector"] == theirs.pk
    assert ConnectorUse.objects.get(flow=imported).connector == theirs
