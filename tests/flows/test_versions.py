"""Drafts, published versions, test-run snapshots, deployments, diffs and protected flows."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.choices import Role
from accounts.models import Environment, Membership
from flows import versions
from flows.graph import InvalidGraph
from flows.models import Deployment, Execution, Flow, FlowVersion
from tests.flows.builders import chain, graph, mapping


@pytest.fixture
def flow(org):
    return Flow.objects.create(organization=org, name="Orders", slug="orders")


GOOD = graph(
    [mapping("a", '{"n": 1}', name="First"), mapping("b", "steps.first.n", name="Second", y=1)], chain("a", "b")
)


def test_saving_a_valid_draft_stores_it_with_defaults(flow, owner):
    assert versions.save_draft(flow, GOOD, owner) == []
    flow.refresh_from_db()
    assert flow.draft["steps"][0]["timeout_ms"] == 3000
    assert flow.draft["steps"][0]["ignore_errors"] is False


def test_saving_an_invalid_draft_changes_nothing_and_returns_every_problem(flow, owner):
    versions.save_draft(flow, GOOD, owner)
    bad = graph([mapping("a", "", timeout_ms=0)], [{"source": "a", "target": "x"}])
    problems = versions.save_draft(flow, bad, owner)
    assert sorted(p.field for p in problems) == ["edges", "instruction", "timeout_ms"]
    flow.refresh_from_db()
    assert flow.draft == versions.normalize(GOOD)


def test_publishing_numbers_versions_and_records_who_and_when(flow, owner, editor):
    versions.save_draft(flow, GOOD, owner)
    first = versions.publish(flow, owner, "first cut")
    second = versions.publish(flow, editor, "x" * 600)
    assert (first.number, first.author, first.message) == (1, owner, "first cut")
    assert (second.number, second.author, len(second.message)) == (2, editor, 500)
    assert first.created <= second.created
    assert list(versions.history(flow)) == [second, first]


def test_a_version_is_immutable(flow, owner):
    versions.save_draft(flow, GOOD, owner)
    version = versions.publish(flow, owner)
    version.message = "rewritten"
    with pytest.raises(ValidationError, match="immutable"):
        version.save()


def test_an_empty_draft_cannot_be_published(flow, owner):
    with pytest.raises(InvalidGraph, match="add a step before publishing"):
        versions.publish(flow, owner)
    assert not FlowVersion.objects.filter(flow=flow).exists()


def test_a_snapshot_for_a_test_run_stays_out_of_the_history_and_is_reused_while_unchanged(flow, owner):
    versions.save_draft(flow, GOOD, owner)
    published = versions.publish(flow, owner)
    snap = versions.snapshot_draft(flow, owner)
    assert snap.snapshot is True and snap.number == 0
    assert versions.snapshot_draft(flow, owner) == snap
    changed = graph([mapping("a", '{"n": 2}', name="First")])
    versions.save_draft(flow, changed, owner)
    assert versions.snapshot_draft(flow, owner) != snap
    assert list(versions.history(flow)) == [published]
    assert versions.publish(flow, owner).number == 2


def test_a_snapshot_cannot_be_deployed(flow, owner, sandbox):
    versions.save_draft(flow, GOOD, owner)
    snap = versions.snapshot_draft(flow, owner)
    with pytest.raises(InvalidGraph, match="cannot be deployed; publish a version"):
        versions.deploy(flow, snap, sandbox, owner)


def test_deploying_points_an_environment_at_a_version(flow, owner, sandbox, production):
    versions.save_draft(flow, GOOD, owner)
    v1 = versions.publish(flow, owner)
    v2 = versions.publish(flow, owner)
    versions.deploy(flow, v1, sandbox, owner)
    versions.deploy(flow, v1, production, owner)
    deployment = versions.deploy(flow, v2, sandbox, owner)
    assert deployment.deployed_by == owner
    assert dict(Deployment.objects.filter(flow=flow).values_list("environment__slug", "version__number")) == {
        "sandbox": 2,
        "production": 1,
    }


def test_a_version_of_another_flow_or_another_organizations_environment_is_refused(
    flow, org, owner, sandbox, other_org
):
    versions.save_draft(flow, GOOD, owner)
    mine = versions.publish(flow, owner)
    other_flow = Flow.objects.create(organization=org, name="Other", slug="other")
    with pytest.raises(InvalidGraph, match="is not a version of 'Other'"):
        versions.deploy(other_flow, mine, sandbox, owner)
    foreign_env = Environment.objects.filter(organization=other_org).first()
    with pytest.raises(InvalidGraph, match="environment does not exist in this organization"):
        versions.deploy(flow, mine, foreign_env, owner)


def test_the_diff_lists_steps_added_removed_and_changed_field_by_field(flow, owner):
    versions.save_draft(flow, GOOD, owner)
    v1 = versions.publish(flow, owner)
    changed = graph(
        [
            mapping("a", '{"n": 2}', name="First", timeout_ms=500),
            mapping("c", "1", name="Third", y=2),
        ],
        chain("a", "c"),
    )
    versions.save_draft(flow, changed, owner)
    v2 = versions.publish(flow, owner)

    diff = versions.diff(v1, v2)

    assert diff["from"]["number"] == 1 and diff["to"]["number"] == 2
    assert [s["id"] for s in diff["added"]] == ["c"]
    assert [s["id"] for s in diff["removed"]] == ["b"]
    assert diff["changed"] == [
        {
            "id": "a",
            "name": "First",
            "fields": {"timeout_ms": {"from": 3000, "to": 500}, "instruction": {"from": '{"n": 1}', "to": '{"n": 2}'}},
        }
    ]
    assert diff["edges"] == {"added": [{"source": "a", "target": "c"}], "removed": [{"source": "a", "target": "b"}]}


def test_a_diff_of_a_version_with_itself_is_empty(flow, owner):
    versions.save_draft(flow, GOOD, owner)
    v1 = versions.publish(flow, owner)
    diff = versions.diff(v1, v1)
    assert (diff["added"], diff["removed"], diff["changed"]) == ([], [], [])


def test_only_admins_may_change_a_protected_flow(flow, owner, editor, org):
    flow.protected = True
    flow.save()
    with pytest.raises(PermissionDenied, match="'Orders' is protected: only admins may change it"):
        versions.save_draft(flow, GOOD, editor)
    with pytest.raises(PermissionDenied):
        versions.publish(flow, editor)
    assert versions.save_draft(flow, GOOD, owner) == []
    Membership.objects.filter(organization=org, user=editor).update(role=Role.ADMIN)
    assert versions.publish(flow, editor).number == 1


def run_demo(slug: str, payload: dict) -> Execution:
    """Run the demo organization's flow ``slug`` as deployed to the sandbox, in this process."""
    from accounts.demo import create_demo
    from connectors import pools
    from flows import engine
    from flows.models import Deployment

    organization, _ = create_demo("demo-admin")
    deployment = Deployment.objects.get(flow__organization=organization, flow__slug=slug)
    assert deployment.environment.slug == "sandbox"
    execution = Execution.objects.create(
        organization=organization,
        flow=deployment.flow,
        version=deployment.version,
        environment=deployment.environment,
        trigger=Execution.Trigger.MANUAL,
        input={"payload": payload},
    )
    try:
        return engine.run(execution.pk)
    finally:
        pools.close_all()


def test_the_demo_flow_is_published_deployed_and_runs(db):
    payload = {"customer": "Ada", "lines": [{"sku": "A-1", "qty": 2, "price": 9.5}, {"qty": 1, "price": 1}]}
    execution = run_demo("demo-price-order", payload)
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"greeting": "Hello Ada", "lines": 2, "total": 20}


def test_the_demo_sql_flow_queries_the_demo_database(db):
    execution = run_demo("demo-open-orders", {"customer": "C-1000"})
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert execution.output == {"customer": "C-1000", "open_orders": ["SO-24003"], "open_amount": 364.5}
