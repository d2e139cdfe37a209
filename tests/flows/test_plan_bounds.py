"""How long a version's steps can take at most (``flows.plans.Plan.longest_ms``): what lets a waited
trigger run its flow in the request thread (``flows.eager.fits``)."""

from __future__ import annotations

import pytest

from flows.eager import MARGIN_MS, fits
from flows.plans import build
from tests.flows.builders import chain, graph, mapping

CONDITION = {"id": "c", "kind": "condition", "name": "c", "position": {"x": 0, "y": 1}, "timeout_ms": 500}


def test_steps_that_each_end_within_their_timeout_add_their_timeouts_up():
    plan = build(graph([mapping("a", "1", timeout_ms=2000), CONDITION, mapping("b", "2")], chain("a", "c", "b")))

    assert plan.longest_ms == 2000 + 500 + 3000  # the mapping without one has the default 3000 ms
    assert not plan.responds


@pytest.mark.parametrize(
    "step",
    [
        {"id": "x", "kind": "delay", "name": "x", "delay_ms": 10},
        {"id": "x", "kind": "call_flow", "name": "x", "flow": 1},
        {"id": "x", "kind": "foreach", "name": "x", "items": "[1, 2]"},
        mapping("x", "1", retry={"max_attempts": 2}),
    ],
    ids=["delay", "call_flow", "foreach", "retries"],
)
def test_a_step_that_can_outlast_its_timeout_leaves_the_flow_unbounded(step):
    plan = build(graph([mapping("a", "1"), {**step, "position": {"x": 0, "y": 1}}], chain("a", "x")))

    assert plan.longest_ms is None
    assert not fits(plan, 3600)


def test_a_retry_policy_of_one_attempt_is_no_retry():
    plan = build(graph([mapping("a", "1", retry={"max_attempts": 1})]))

    assert plan.longest_ms == 3000


def test_a_flow_fits_a_wait_that_leaves_the_margin_over_its_longest_run():
    plan = build(graph([mapping("a", "1", timeout_ms=3000)]))

    assert fits(plan, (3000 + MARGIN_MS) / 1000)
    assert not fits(plan, (3000 + MARGIN_MS - 1) / 1000)


def test_a_flow_with_a_respond_step_never_fits_it_answers_before_its_end():
    respond = {"id": "r", "kind": "respond", "name": "r", "status": 201, "body": "{}", "position": {"x": 0, "y": 0}}
    plan = build(graph([respond]))

    assert plan.responds and plan.longest_ms is not None
    assert not fits(plan, 3600)
