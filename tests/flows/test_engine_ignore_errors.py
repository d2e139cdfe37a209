"""Ignore Errors, exactly as the step form promises, and a model check on random DAGs.

On: the failing step is logged with its error, the following steps run, the execution ends
``completed_with_errors``. Off: the execution stops at once, the log shows the steps up to the
failing one, no later step runs, the execution ends ``failed``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping

FAIL = '$error("the ERP said no")'


def log(execution) -> list[tuple[str, str]]:
    return [(r.step_id, r.status) for r in StepRun.objects.filter(execution=execution).order_by("position")]


def test_all_steps_succeed_and_the_output_is_the_last_steps(publish, start):
    version = publish(
        graph([mapping("a", '{"n": trigger.payload.n}'), mapping("b", '{"n": steps.a.n * 2}', y=1)], chain("a", "b"))
    )
    execution = engine.run(start(version, {"n": 21}).pk)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output == {"n": 42}
    assert execution.error == ""
    assert log(execution) == [("a", "succeeded"), ("b", "succeeded")]
    assert execution.started <= execution.finished
    assert execution.attempts == 1


def test_with_ignore_errors_off_the_execution_stops_at_the_failing_step(publish, start):
    version = publish(graph([mapping("a", "1"), mapping("b", FAIL, y=1), mapping("c", "3", y=2)], chain("a", "b", "c")))
    execution = engine.run(start(version).pk)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.FAILED
    assert log(execution) == [("a", "succeeded"), ("b", "failed")]
    assert execution.error == "Step 'b' failed: The mapping failed: the ERP said no"
    failed = StepRun.objects.get(execution=execution, step_id="b")
    assert failed.error == "The mapping failed: the ERP said no"
    assert failed.output is None


def test_with_ignore_errors_off_an_unconnected_later_step_does_not_run_either(publish, start):
    version = publish(graph([mapping("a", FAIL), mapping("z", '"independent"', y=5)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.FAILED
    assert log(execution) == [("a", "failed")]


def test_with_ignore_errors_on_the_error_is_logged_and_the_following_steps_run(publish, start):
    version = publish(
        graph(
            [
                mapping("a", "1"),
                mapping("b", FAIL, ignore=True, y=1),
                mapping("c", '{"b": steps.b, "a": steps.a}', y=2),
            ],
            chain("a", "b", "c"),
        )
    )
    execution = engine.run(start(version).pk)
    execution.refresh_from_db()
    assert execution.status == Execution.Status.COMPLETED_WITH_ERRORS
    assert log(execution) == [("a", "succeeded"), ("b", "error_ignored"), ("c", "succeeded")]
    assert StepRun.objects.get(execution=execution, step_id="b").error == "The mapping failed: the ERP said no"
    assert execution.output == {"a": 1, "b": {"error": "The mapping failed: the ERP said no"}}, (
        "an ignored step's output is its error for the steps after it"
    )


def test_a_timed_out_step_is_timed_out_or_error_ignored_by_the_switch(publish, start):
    slow = "$count($map([1..100000], function($v){ $v * 2 }))"
    version = publish(graph([mapping("a", slow, timeout_ms=20, ignore=True), mapping("b", slow, timeout_ms=20, y=1)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.FAILED
    assert log(execution) == [("a", "error_ignored"), ("b", "timed_out")]
    assert "longer than its timeout of 20 ms" in StepRun.objects.get(execution=execution, step_id="a").error
    assert execution.error == "Step 'b' timed out: The mapping ran longer than its timeout of 20 ms."


def test_an_expression_error_fails_the_step_like_any_error(publish, start):
    version = publish(graph([mapping("a", "trigger.payload.missing.deeper")]))
    execution = engine.run(start(version, {"x": 1}).pk)
    assert execution.status == Execution.Status.SUCCEEDED, "JSONata yields nothing for a missing path; not an error"
    assert execution.output is None


# -- random DAGs against a reference model --------------------------------------------------------


@st.composite
def dags(draw):
    n = draw(st.integers(min_value=1, max_value=8))
    steps = []
    for i in range(n):
        steps.append(
            {
                "id": f"s{i}",
                "fails": draw(st.booleans()),
                "ignore": draw(st.booleans()),
                "y": draw(st.integers(min_value=0, max_value=3)),
                "x": draw(st.integers(min_value=0, max_value=3)),
            }
        )
    edges = [(f"s{i}", f"s{j}") for i in range(n) for j in range(i + 1, n) if draw(st.booleans())]
    # ids in a random order so that the index order is not a free topological order
    permutation = draw(st.permutations(range(n)))
    rename = {f"s{i}": f"s{permutation[i]}" for i in range(n)}
    for step in steps:
        step["id"] = rename[step["id"]]
    return steps, [(rename[a], rename[b]) for a, b in edges]


def as_graph(steps, edges) -> dict:
    parents = {s["id"]: [a for a, b in edges if b == s["id"]] for s in steps}
    nodes = []
    for step in steps:
        if step["fails"]:
            expression = f'$error("boom {step["id"]}")'
        else:
            listed = ", ".join(f"steps.{p}.n" for p in parents[step["id"]])
            expression = f'{{"n": "{step["id"]}", "parents": [{listed}]}}'
        node = mapping(step["id"], expression, ignore=step["ignore"])
        node["position"] = {"x": step["x"], "y": step["y"]}
        nodes.append(node)
    return graph(nodes, [{"source": a, "target": b} for a, b in edges])


def model(steps, edges, run_order):
    """What the step form's table says must happen, given the order the steps ran in."""
    by_id = {s["id"]: s for s in steps}
    parents = {s["id"]: [a for a, b in edges if b == s["id"]] for s in steps}
    outputs, log, had_errors = {}, [], False
    for sid in run_order:
        step = by_id[sid]
        if not step["fails"]:
            outputs[sid] = {"n": sid, "parents": [outputs[p]["n"] for p in parents[sid] if p in outputs]}
            log.append((sid, "succeeded"))
        elif step["ignore"]:
            log.append((sid, "error_ignored"))
            had_errors = True
        else:
            log.append((sid, "failed"))
            return log, "failed", outputs
    return log, ("completed_with_errors" if had_errors else "succeeded"), outputs


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(dags())
def test_random_dags_follow_the_reference_model(publish, start, dag):
    steps, edges = dag
    version = publish(as_graph(steps, edges))
    execution = engine.run(start(version).pk)
    execution.refresh_from_db()
    recorded = list(StepRun.objects.filter(execution=execution).order_by("position"))
    ran = [r.step_id for r in recorded]

    # the order is topological: every edge's source ran before its target (when both ran)
    where = {sid: i for i, sid in enumerate(ran)}
    for a, b in edges:
        if b in where:
            assert a in where and where[a] < where[b], (a, b, ran)
    # positions are the places in the run order, without gaps
    assert [r.position for r in recorded] == list(range(len(recorded)))

    expected_log, expected_status, outputs = model(steps, edges, ran)
    assert [(r.step_id, r.status) for r in recorded] == expected_log
    assert execution.status == expected_status
    for record in recorded:
        if record.status == "succeeded":
            assert record.output == outputs[record.step_id]
        else:
            assert record.error == f"The mapping failed: boom {record.step_id}"
            ignored = record.status == "error_ignored"
            assert record.output == ({"error": record.error} if ignored else None)
    if expected_status != "failed":
        assert len(ran) == len(steps), "with no stopping failure every step runs"
        succeeded = [r for r in recorded if r.status == "succeeded"]
        assert execution.output == (succeeded[-1].output if succeeded else None)
