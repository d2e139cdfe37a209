"""Flow control in the engine: routers and joins, for-each items, retries, delays, respond and
call-flow steps, each run by ``engine.run`` as a worker runs it."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from flows import engine, parking, versions
from flows.models import Deployment, Execution, StepRun
from tests.flows.builders import chain, graph, mapping

pytestmark = pytest.mark.django_db

Status = Execution.Status


def condition(sid, *, mode="first", y=0, **extra):
    return {"id": sid, "kind": "condition", "name": sid, "mode": mode, "position": {"x": 0, "y": y}, **extra}


def branch(source, target, condition=None, *, otherwise=False, order=None, label=None):
    edge = {"source": source, "target": target}
    if condition is not None:
        edge["condition"] = condition
    if otherwise:
        edge["otherwise"] = True
    if order is not None:
        edge["order"] = order
    if label is not None:
        edge["label"] = label
    return edge


def records(execution, scope=None):
    rows = StepRun.objects.filter(execution=execution)
    if scope is not None:
        rows = rows.filter(scope=scope)
    return {(r.scope, r.step_id): r for r in rows.order_by("position", "item", "attempt")}


def statuses(execution):
    return {r.step_id: r.status for r in StepRun.objects.filter(execution=execution, scope="")}


# -- routers, joins and skips -------------------------------------------------------------------------


def router_graph(mode="first"):
    return graph(
        [
            condition("route", mode=mode),
            mapping("big", '"big"', y=1),
            mapping("vip", '"vip"', y=1),
            mapping("small", '"small"', y=1),
            mapping("after_big", '"after " & steps.big', y=2),
            mapping("join", '{"big": steps.big, "small": steps.small}', y=3),
        ],
        [
            branch("route", "big", "trigger.payload.amount > 10000", order=1, label="amount > 10000"),
            branch("route", "vip", "{{ trigger.payload.customer == 'VIP' }}", order=2),
            branch("route", "small", otherwise=True),
            branch("big", "after_big"),
            branch("after_big", "join"),
            branch("small", "join"),
            branch("vip", "join"),
        ],
    )


def test_the_first_true_branch_is_taken_and_steps_behind_the_others_are_skipped_with_the_reason(publish, start):
    version = publish(router_graph())
    execution = engine.run(start(version, {"amount": 20000, "customer": "VIP"}).pk)
    assert execution.status == Status.SUCCEEDED, execution.error
    assert statuses(execution) == {
        "route": "succeeded",
        "big": "succeeded",
        "vip": "skipped",
        "small": "skipped",
        "after_big": "succeeded",
        "join": "succeeded",
    }
    logged = records(execution)
    assert logged[("", "route")].output == {"taken": ["big"], "branches": ["amount > 10000"]}
    assert "not taken" in logged[("", "small")].error and "'otherwise'" in logged[("", "small")].error
    assert execution.output == {"big": "big"}, "the join ran once its reached parent finished"


def test_all_matches_takes_every_true_branch_and_otherwise_only_when_none_holds(publish, start):
    version = publish(router_graph(mode="all"))
    both = engine.run(start(version, {"amount": 20000, "customer": "VIP"}).pk)
    assert [s for s, v in statuses(both).items() if v == "skipped"] == ["small"]
    neither = engine.run(start(version, {"amount": 5, "customer": "ACME"}).pk)
    assert statuses(neither) == {
        "route": "succeeded",
        "big": "skipped",
        "vip": "skipped",
        "small": "succeeded",
        "after_big": "skipped",
        "join": "succeeded",
    }
    assert records(neither)[("", "after_big")].error == "Not run: every step before it was skipped."
    assert neither.output == {"small": "small"}


def test_a_step_is_skipped_only_when_all_its_parents_were(publish, start):
    version = publish(
        graph(
            [condition("route"), mapping("a", "1", y=1), mapping("b", "2", y=1), mapping("both", "3", y=2)],
            [branch("route", "a", "false"), branch("route", "b", "false"), branch("a", "both"), branch("b", "both")],
        )
    )
    execution = engine.run(start(version).pk)
    assert execution.status == Status.SUCCEEDED
    assert statuses(execution) == {"route": "succeeded", "a": "skipped", "b": "skipped", "both": "skipped"}
    assert execution.output == {"taken": [], "branches": []}


def test_a_condition_that_fails_fails_the_router_like_any_step(publish, start):
    version = publish(
        graph([condition("route"), mapping("a", "1", y=1)], [branch("route", "a", "$error('no amount')")])
    )
    execution = engine.run(start(version).pk)
    assert execution.status == Status.FAILED
    assert "no amount" in execution.error


# -- for each ------------------------------------------------------------------------------------------


def loop_graph(**options):
    loop = {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.orders", **options}
    return graph(
        [
            loop,
            mapping("double", '{"order": item.id, "twice": item.n * 2, "at": index}', group="loop", y=1),
            mapping("check", '$exists(item.bad) ? $error("bad order " & item.id) : steps.double', group="loop", y=2),
            mapping("total", "$sum(steps.loop.twice)", y=3),
        ],
        [branch("double", "check"), branch("loop", "total")],
    )


ORDERS = [{"id": "A", "n": 1}, {"id": "B", "n": 2}, {"id": "C", "n": 3}, {"id": "D", "n": 4}]


@pytest.mark.django_db(transaction=True)  # items in flight use connections of their own threads
@pytest.mark.parametrize("concurrency", [1, 3])
def test_each_item_runs_the_body_in_its_own_scope_and_the_output_lists_the_items(publish, start, concurrency):
    version = publish(loop_graph(concurrency=concurrency))
    execution = engine.run(start(version, {"orders": ORDERS}).pk)
    assert execution.status == Status.SUCCEEDED, execution.error
    loop = StepRun.objects.get(execution=execution, scope="", step_id="loop")
    assert loop.output == [{"order": o["id"], "twice": o["n"] * 2, "at": i} for i, o in enumerate(ORDERS)]
    assert execution.output == 20
    items = StepRun.objects.filter(execution=execution, step_id="check").order_by("item")
    assert [(r.scope, r.item, r.status) for r in items] == [(f"loop[{i}]", i, "succeeded") for i in range(4)]


def test_batches_hand_the_body_a_list_of_items(publish, start):
    version = publish(
        graph(
            [
                {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.rows", "batch_size": 4},
                mapping("sum", '{"first": index, "size": $count(item), "sum": $sum(item)}', group="loop", y=1),
            ]
        )
    )
    execution = engine.run(start(version, {"rows": list(range(10))}).pk)
    assert execution.output == [
        {"first": 0, "size": 4, "sum": 6},
        {"first": 4, "size": 4, "sum": 22},
        {"first": 8, "size": 2, "sum": 17},
    ]


def test_a_failed_item_stops_the_loop_unless_it_continues_on_error(publish, start):
    orders = [*ORDERS[:2], {"id": "X", "n": 0, "bad": True}, *ORDERS[2:]]
    stopping = engine.run(start(publish(loop_graph()), {"orders": orders}).pk)
    assert stopping.status == Status.FAILED
    assert "Item 2 failed" in stopping.error and "bad order X" in stopping.error
    ran = StepRun.objects.filter(execution=stopping, step_id="double").values_list("item", flat=True)
    assert sorted(ran) == [0, 1, 2], "no item after the failed one started"

    going_on = engine.run(start(publish(loop_graph(continue_on_error=True)), {"orders": orders}).pk)
    assert going_on.status == Status.COMPLETED_WITH_ERRORS
    loop = StepRun.objects.get(execution=going_on, scope="", step_id="loop")
    assert loop.status == "succeeded" and "1 of 5 items failed" in loop.error
    assert loop.output[2]["index"] == 2 and "bad order X" in loop.output[2]["error"]
    assert going_on.output == 20, "the steps after the loop see the items that succeeded"


def test_a_resumed_loop_runs_only_the_items_that_had_not_finished(publish, start):
    version = publish(loop_graph())
    execution = start(version, {"orders": ORDERS})
    first = engine.run(execution.pk)
    assert first.status == Status.SUCCEEDED
    # As if the worker had died after item 1: forget the later items, the loop and what followed.
    StepRun.objects.filter(execution=execution, item__gte=2).delete()
    StepRun.objects.filter(execution=execution, scope="").delete()
    kept = set(StepRun.objects.filter(execution=execution).values_list("pk", flat=True))
    Execution.objects.filter(pk=execution.pk).update(status=Status.RUNNING, heartbeat=None)
    again = engine.run(execution.pk)
    assert again.status == Status.SUCCEEDED and again.output == 20
    assert kept <= set(StepRun.objects.filter(execution=execution).values_list("pk", flat=True))
    runs = StepRun.objects.filter(execution=execution, step_id="double")
    assert sorted(runs.values_list("item", "delivery")) == [(0, 1), (1, 1), (2, 2), (3, 2)]


def test_the_list_must_be_a_list(publish, start):
    execution = engine.run(start(publish(loop_graph()), {"orders": {"id": "A"}}).pk)
    assert execution.status == Status.FAILED
    assert "is dict, not a list" in execution.error


# -- retries -------------------------------------------------------------------------------------------

SLOW = "$count($map([1..100000], function($v){ $v * 2 }))"


def test_each_attempt_is_recorded_and_ignore_errors_applies_after_the_last(publish, start):
    retry = {"max_attempts": 3, "initial_ms": 10, "multiplier": 2, "jitter": 0, "on": {"timeout": True}}
    version = publish(graph([mapping("slow", SLOW, timeout_ms=5, ignore=True, retry=retry), mapping("next", "1", y=1)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Status.COMPLETED_WITH_ERRORS
    attempts = list(StepRun.objects.filter(execution=execution, step_id="slow").order_by("attempt"))
    assert [(r.attempt, r.status) for r in attempts] == [(1, "retrying"), (2, "retrying"), (3, "error_ignored")]
    assert [r.wait_ms for r in attempts[:2]] == [10, 20]
    assert attempts[1].started >= attempts[0].finished + timedelta(milliseconds=10)
    assert StepRun.objects.get(execution=execution, step_id="next").status == "succeeded"


def test_a_failure_the_policy_does_not_name_is_not_retried(publish, start):
    retry = {"max_attempts": 5, "on": {"timeout": False}}
    version = publish(graph([mapping("slow", SLOW, timeout_ms=5, retry=retry)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Status.FAILED
    assert StepRun.objects.filter(execution=execution).count() == 1


@pytest.mark.parametrize("inline_wait", [0])
def test_a_long_wait_parks_the_execution_and_it_resumes_at_the_step(publish, start, settings, inline_wait):
    settings.ERPFLOW_INLINE_WAIT_SECONDS = inline_wait
    retry = {"max_attempts": 2, "initial_ms": 60_000, "jitter": 0, "on": {"timeout": True}}
    version = publish(
        graph(
            [mapping("a", "1"), mapping("slow", SLOW, timeout_ms=5, retry=retry, ignore=True, y=1)], chain("a", "slow")
        )
    )
    execution = engine.run(start(version).pk)
    assert execution.status == Status.WAITING and execution.lease == ""
    assert 55 < (execution.resume_at - timezone.now()).total_seconds() <= 60
    assert engine.run(execution.pk).status == Status.WAITING, "not claimable before it is due"
    assert not parking.due().filter(pk=execution.pk).exists()
    # a minute later
    Execution.objects.filter(pk=execution.pk).update(resume_at=timezone.now() - timedelta(seconds=1))
    StepRun.objects.filter(execution=execution, step_id="slow").update(finished=timezone.now() - timedelta(minutes=1))
    assert parking.due().filter(pk=execution.pk).exists()
    done = engine.run(execution.pk)
    assert done.status == Status.COMPLETED_WITH_ERRORS
    assert done.attempts == 1, "coming back from a wait is not another delivery"
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", "attempt", "status")) == [
        ("a", 1, "succeeded"),
        ("slow", 1, "retrying"),
        ("slow", 2, "error_ignored"),
    ]


# -- delay ---------------------------------------------------------------------------------------------


def test_a_short_delay_sleeps_and_a_long_one_parks_until_due(publish, start, settings):
    settings.ERPFLOW_INLINE_WAIT_SECONDS = 1
    short = publish(
        graph([{"id": "d", "kind": "delay", "name": "d", "delay_ms": 200}, mapping("b", "2", y=1)], chain("d", "b"))
    )
    begun = timezone.now()
    assert engine.run(start(short).pk).status == Status.SUCCEEDED
    assert (timezone.now() - begun).total_seconds() >= 0.2

    long = publish(
        graph(
            [{"id": "d", "kind": "delay", "name": "d", "delay_ms": 3_600_000}, mapping("b", "2", y=1)], chain("d", "b")
        )
    )
    execution = engine.run(start(long).pk)
    assert execution.status == Status.WAITING
    waiting = StepRun.objects.get(execution=execution, step_id="d")
    assert waiting.status == "waiting" and waiting.output["until"]
    Execution.objects.filter(pk=execution.pk).update(resume_at=timezone.now())
    StepRun.objects.filter(pk=waiting.pk).update(output={"until": timezone.now().isoformat()})
    done = engine.run(execution.pk)
    assert done.status == Status.SUCCEEDED and done.output == 2
    assert StepRun.objects.get(pk=waiting.pk).status == "succeeded", "the delay's record is completed in place"


def test_wait_until_takes_a_moment_from_an_expression_and_refuses_what_is_not_one(publish, start):
    soon = (timezone.now() + timedelta(milliseconds=100)).isoformat()
    until = {"id": "d", "kind": "delay", "name": "d", "until": "trigger.payload.at"}
    version = publish(graph([until]))
    assert engine.run(start(version, {"at": soon}).pk).status == Status.SUCCEEDED
    bad = engine.run(start(version, {"at": "tomorrow"}).pk)
    assert bad.status == Status.FAILED and "ISO 8601" in bad.error


def test_cancelling_a_waiting_execution_ends_it_at_once(publish, start):
    version = publish(graph([{"id": "d", "kind": "delay", "name": "d", "delay_ms": 3_600_000}]))
    execution = engine.run(start(version).pk)
    assert engine.request_cancel(execution)
    execution.refresh_from_db()
    assert execution.status == Status.CANCELLED and execution.finished is not None
    Execution.objects.filter(pk=execution.pk).update(resume_at=timezone.now())
    assert engine.run(execution.pk).status == Status.CANCELLED


# -- respond -------------------------------------------------------------------------------------------


def test_respond_sets_the_answer_once_and_the_flow_goes_on(publish, start):
    respond = {
        "id": "r",
        "kind": "respond",
        "name": "r",
        "status": 201,
        "headers": {"X-Order": "{{ trigger.payload.id }}"},
        "body": '{"accepted": trigger.payload.id}',
    }
    second = {**respond, "id": "r2", "name": "r2", "status": 500, "position": {"x": 0, "y": 2}}
    version = publish(graph([respond, mapping("after", '"done"', y=1), second], chain("r", "after", "r2")))
    execution = engine.run(start(version, {"id": "SO-1"}).pk)
    execution.refresh_from_db()
    assert execution.status == Status.SUCCEEDED
    assert execution.response == {"status": 201, "headers": {"X-Order": "SO-1"}, "body": {"accepted": "SO-1"}}
    assert StepRun.objects.get(execution=execution, step_id="r2").output["answered"] is False


def test_a_header_value_with_a_line_break_fails_the_step(publish, start):
    respond = {"id": "r", "kind": "respond", "name": "r", "headers": {"X-Id": "{{ trigger.payload.id }}"}}
    execution = engine.run(start(publish(graph([respond])), {"id": "a\r\nSet-Cookie: x=1"}).pk)
    assert execution.status == Status.FAILED and "line break" in execution.error
    assert execution.response is None


# -- call flow -----------------------------------------------------------------------------------------


@pytest.fixture
def deploy(sandbox, owner):
    def make(version):
        Deployment.objects.create(flow=version.flow, environment=sandbox, version=version, deployed_by=owner)
        return version

    return make


def call(flow, *, wait=True, payload="{{ trigger.payload }}"):
    return {"id": "call", "kind": "call_flow", "name": "call", "flow": flow.pk, "wait": wait, "payload": payload}


def test_a_called_flow_runs_as_a_linked_child_and_its_output_is_the_steps(publish, start, deploy):
    child = deploy(publish(graph([mapping("c", '{"got": trigger.payload.n}')])))
    version = publish(
        graph(
            [call(child.flow, payload='{"n": trigger.payload.n + 1}'), mapping("after", "steps.call.got", y=1)],
            chain("call", "after"),
        )
    )
    execution = engine.run(start(version, {"n": 1}, correlation_id="corr-1").pk)
    assert execution.status == Status.SUCCEEDED and execution.output == 2
    sub = Execution.objects.get(parent=execution)
    assert (sub.flow_id, sub.trigger, sub.depth, sub.correlation_id) == (child.flow_id, "call", 1, "corr-1")
    assert sub.status == Status.SUCCEEDED and sub.parent_step == "/call"


def test_a_failed_child_fails_the_step_and_fire_and_forget_only_starts_it(publish, start, deploy):
    failing = deploy(publish(graph([mapping("c", '$error("child broke")')])))
    execution = engine.run(start(publish(graph([call(failing.flow)]))).pk)
    assert execution.status == Status.FAILED and "child broke" in execution.error

    quiet = deploy(publish(graph([mapping("c", "1")])))
    forget = engine.run(start(publish(graph([call(quiet.flow, wait=False)]))).pk)
    assert forget.status == Status.SUCCEEDED
    sub = Execution.objects.get(parent=forget)
    assert forget.output == {"execution_id": sub.pk, "status": "queued"}


def test_calls_are_refused_past_the_depth_limit_and_around_a_cycle(publish, start, deploy, settings, owner):
    settings.ERPFLOW_MAX_CALL_DEPTH = 1
    leaf = deploy(publish(graph([mapping("c", "1")])))
    middle = deploy(publish(graph([call(leaf.flow)])))
    top = engine.run(start(publish(graph([call(middle.flow)]))).pk)
    assert top.status == Status.FAILED and "the limit is 1" in top.error

    settings.ERPFLOW_MAX_CALL_DEPTH = 5
    first = publish(graph([mapping("c", "1")]), name="First")
    second = deploy(publish(graph([call(first.flow)]), name="Second"))
    # the first flow's next version calls the second, which calls the first: a cycle met at run time
    versions.save_draft(first.flow, graph([call(second.flow)]), owner)
    deploy(versions.publish(first.flow, owner, "calls back"))
    cycle = engine.run(start(Deployment.objects.get(flow=first.flow).version).pk)
    assert cycle.status == Status.FAILED
    assert "already running further up" in cycle.error


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_loop_between_items_and_an_inline_delay_at_once(publish, start, settings):
    settings.ERPFLOW_INLINE_WAIT_SECONDS = 5
    loop = {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.n"}
    pause = {"id": "pause", "kind": "delay", "name": "pause", "delay_ms": 4000, "group": "loop"}
    execution = start(publish(graph([loop, pause])), {"n": list(range(20))})
    asked = threading.Timer(1.0, lambda: engine.request_cancel(Execution.objects.get(pk=execution.pk)))
    asked.start()
    begun = time.monotonic()
    ended = engine.run(execution.pk)
    asked.join()
    assert ended.status == Status.CANCELLED
    assert time.monotonic() - begun < 3, "the delay woke when the cancel came"
    assert StepRun.objects.filter(execution=execution, step_id="pause").count() == 1, "no later item started"
