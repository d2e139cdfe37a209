"""Validation of the flow-control kinds: every problem named, with its step and field."""

from __future__ import annotations

import pytest

from flows import graph as graphs
from flows.choices import StepKind
from flows.kinds import KINDS
from flows.models import Flow
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


def problems(org, g) -> list[tuple[str | None, str, str]]:
    return [(p.step, p.field, p.message) for p in graphs.validate(g, org)]


def messages(org, g) -> str:
    return " | ".join(p.message for p in graphs.validate(g, org))


def test_every_step_kind_has_a_module():
    assert set(KINDS) == set(StepKind)


def test_router_edges_need_a_condition_or_otherwise_and_only_routers_have_them(org):
    g = graph(
        [{"id": "r", "kind": "condition", "name": "r"}, mapping("a", "1"), mapping("b", "2"), mapping("c", "3")],
        [
            {"source": "r", "target": "a"},
            {"source": "r", "target": "b", "otherwise": True},
            {"source": "r", "target": "c", "otherwise": True},
            {"source": "a", "target": "c", "condition": "true"},
        ],
    )
    found = messages(org, g)
    assert "Edge 1 from 'r' to 'a': the condition it must be an expression" in found
    assert "Step 'r' has more than one 'otherwise' edge." in found
    assert "Edge 4 from 'a' has a condition, but only a condition step's edges may." in found


def test_a_condition_that_does_not_parse_is_named_with_its_edge(org):
    g = graph(
        [{"id": "r", "kind": "condition", "name": "r", "mode": "some"}, mapping("a", "1")],
        [{"source": "r", "target": "a", "condition": "amount >"}],
    )
    found = problems(org, g)
    assert ("r", "mode", "Step 'r': the mode is 'some'; use 'first' (the first true branch) or 'all'.") in found
    assert any(field == "edges" and "Edge 1 from 'r' to 'a': the condition" in m for _, field, m in found)


def test_for_each_fields_and_groups_are_checked(org):
    g = graph(
        [
            {"id": "loop", "kind": "foreach", "name": "loop", "items": "", "batch_size": 0, "concurrency": 99},
            {"id": "inner", "kind": "foreach", "name": "inner", "items": "item", "group": "loop"},
            mapping("body", "item", group="nowhere"),
            mapping("outside", "1"),
            mapping("inside", "1", group="loop"),
        ],
        [{"source": "inside", "target": "outside"}],
    )
    found = messages(org, g)
    assert "Step 'loop': the list to iterate over (items): it is empty." in found
    assert "batch size must be a whole number from 1 to 10000" in found
    assert "concurrency must be a whole number from 1 to 16" in found
    assert "a for-each inside a for-each is not supported" in found
    assert "Step 'body': its group 'nowhere' is not a for-each step of this flow." in found
    assert "crosses the border of a for-each" in found


def test_a_body_step_sees_the_steps_before_its_for_each_but_not_after(org):
    g = graph(
        [
            mapping("read", "[1, 2]"),
            {"id": "loop", "kind": "foreach", "name": "loop", "items": "steps.read"},
            mapping("body", "steps.read[0] + steps.later", group="loop"),
            mapping("later", "1"),
        ],
        [{"source": "read", "target": "loop"}, {"source": "loop", "target": "later"}],
    )
    found = messages(org, g)
    assert "uses the output of step 'later', which is not upstream of it" in found
    assert "'read', which is not upstream" not in found


def test_retry_policies_are_checked_and_refused_where_they_do_not_apply(org):
    g = graph(
        [
            mapping("a", "1", retry={"max_attempts": 11, "jitter": 2, "on": {"teapot": True}, "tries": 1}),
            {"id": "d", "kind": "delay", "name": "d", "delay_ms": 10, "retry": {"max_attempts": 2}},
        ]
    )
    found = messages(org, g)
    assert "retry max_attempts must be a whole number from 1 to 10" in found
    assert "retry jitter must be a number from 0 to 1" in found
    assert "the retry policy has unknown fields: tries" in found
    assert "retry on teapot: unknown entry" in found
    assert "Step 'd': a delay step has no retry policy." in found


def test_call_flow_respond_and_delay_fields_are_checked(org, other_org):
    theirs = Flow.objects.create(organization=other_org, name="Theirs", slug="theirs")
    g = graph(
        [
            {"id": "c", "kind": "call_flow", "name": "c", "flow": theirs.pk, "payload": "{{ oops", "wait": "yes"},
            {"id": "r", "kind": "respond", "name": "r", "status": 700, "headers": {"Content-Length": "1", "ok": 5}},
            {"id": "d", "kind": "delay", "name": "d", "delay_ms": 5, "until": "trigger.payload.at"},
            {"id": "e", "kind": "delay", "name": "e"},
        ]
    )
    found = messages(org, g)
    assert f"Step 'c': flow {theirs.pk} does not exist in this organization." in found
    assert "Step 'c': the payload: this {{ is never closed with }}." in found
    assert "wait must be true or false" in found
    assert "the status must be a whole number from 200 to 599" in found
    assert "the header 'Content-Length' is set by erpflow" in found
    assert "the header 'ok' must be text" in found
    assert "give either delay_ms or until, not both" in found
    assert "Step 'e': give a pause in milliseconds (delay_ms) or a moment to wait until (until)." in found


def test_a_graph_using_every_kind_correctly_has_no_problems(org):
    other = Flow.objects.create(organization=org, name="Callee", slug="callee")
    g = graph(
        [
            {"id": "r", "kind": "condition", "name": "route"},
            {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.rows", "batch_size": 10},
            mapping("body", "item", group="loop", retry={"max_attempts": 3, "on": {"timeout": True}}),
            {"id": "c", "kind": "call_flow", "name": "call", "flow": other.pk},
            {"id": "a", "kind": "respond", "name": "answer", "status": 202, "body": "steps.call"},
            {"id": "d", "kind": "delay", "name": "pause", "delay_ms": 1000},
        ],
        [
            {"source": "r", "target": "loop", "condition": "{{ trigger.payload.rows }}", "order": 1},
            {"source": "r", "target": "c", "otherwise": True},
            {"source": "c", "target": "a"},
            {"source": "a", "target": "d"},
        ],
    )
    assert problems(org, g) == []
