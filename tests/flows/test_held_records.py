"""Step records held in memory and written with the delivery's next write (flows.engine, flows.records).

Quick pure steps (mapping, condition, for-each) and skips wait for the next write; a step that acts
on the world is written before the next step runs, unless the finish comes right after it. A
delivery that lost its lease writes none of the records it held.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import variable_cache
from flows import engine
from flows.kinds.delay import DelayKind
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping


def delay(sid: str, y: int) -> dict:
    """A step that is not pure (``Kind.pure`` off): its record is written before the next step runs."""
    return {"id": sid, "kind": "delay", "name": sid, "delay_ms": 0, "position": {"x": 0, "y": y}}


def twenty_mappings() -> dict:
    steps = [mapping("s0", '{"n": trigger.payload.n}')]
    steps += [mapping(f"s{i}", f'{{"n": steps.s{i - 1}.n + 1}}', y=i) for i in range(1, 20)]
    return graph(steps, chain(*[f"s{i}" for i in range(20)]))


def statements(queries) -> list[str]:
    return [q["sql"].split()[0].upper() for q in queries.captured_queries]


@pytest.fixture
def warm(monkeypatch):
    """The variables read by a first run stay cached for the run measured, however slow the machine."""
    monkeypatch.setattr(variable_cache._environments, "seconds", 60)


def test_a_flow_of_quick_mappings_takes_the_claim_and_one_statement_for_every_record_and_the_finish(
    publish, start, warm
):
    version = publish(twenty_mappings())
    engine.run(start(version, {"n": 0}).pk)  # the process now has the plan and the variables
    execution = start(version, {"n": 1})
    recorded: list[StepRun] = []

    with CaptureQueriesContext(connection) as queries:
        finished = engine.run(execution.pk, recorded=recorded)

    assert statements(queries) == ["UPDATE", "WITH"], [q["sql"][:120] for q in queries.captured_queries]
    assert (finished.status, finished.output) == (Execution.Status.SUCCEEDED, {"n": 20})
    stored = list(StepRun.objects.filter(execution=execution).order_by("position"))
    assert [(r.step_id, r.status, r.output) for r in stored] == [
        (f"s{i}", StepRun.Status.SUCCEEDED, {"n": i + 1}) for i in range(20)
    ]
    assert [r.step_id for r in recorded] == [f"s{i}" for i in range(20)], "every record, in order"
    assert Execution.objects.get(pk=execution.pk).status == Execution.Status.SUCCEEDED


def test_held_records_are_written_before_a_step_that_is_not_pure_starts(publish, start, warm, monkeypatch):
    version = publish(graph([mapping("a", "1"), delay("d", 1), mapping("b", "2", y=2)], chain("a", "d", "b")))
    engine.run(start(version).pk)
    execution = start(version)
    recorded: list[StepRun] = []
    seen_by_d = []
    run = DelayKind.run

    def delay_run(kind, call):
        seen_by_d.append(list(StepRun.objects.filter(execution=execution).values_list("step_id", flat=True)))
        return run(kind, call)

    monkeypatch.setattr(DelayKind, "run", delay_run)

    with CaptureQueriesContext(connection) as queries:
        finished = engine.run(execution.pk, recorded=recorded)

    assert finished.status == Execution.Status.SUCCEEDED
    assert seen_by_d == [["a"]], "a's record was stored before d started"
    # the claim, a's record, (d's look), d's record, b's with the finish
    assert statements(queries) == ["UPDATE", "INSERT", "SELECT", "INSERT", "WITH"], [
        q["sql"][:120] for q in queries.captured_queries
    ]
    assert [r.step_id for r in recorded] == ["a", "d", "b"]


def test_a_pure_step_that_runs_long_stores_the_records_held_before_it(publish, start, monkeypatch):
    """A quick step's record does not wait behind a long computation (the poison drill kills one)."""
    monkeypatch.setattr(engine, "CONTROL_INTERVAL", 0.2)
    spin = '($count($map([1..60000], function($v){ $v * 2 })); "done")'
    version = publish(graph([mapping("a", "1"), mapping("b", spin, y=1, timeout_ms=30000)], chain("a", "b")))
    execution = start(version)
    seen_during_b = []

    def look() -> bool:
        seen_during_b.append(StepRun.objects.filter(execution=execution).count())
        return False

    from expressions import budgets

    checkpoint = budgets.checkpoint

    def checkpoint_then_look(seconds, callback):
        return checkpoint(seconds, lambda: (callback(), look()))

    monkeypatch.setattr(budgets, "checkpoint", checkpoint_then_look)

    finished = engine.run(execution.pk)

    assert (finished.status, finished.output) == (Execution.Status.SUCCEEDED, "done"), finished.error
    assert seen_during_b and seen_during_b[-1] == 1, f"a's record stored while b computed: {seen_during_b}"


def taking_the_lease_before(step_number: int):
    """A ``hand_over`` that, asked before the step at ``step_number`` (0-based), gives the execution to
    another delivery (as a redelivery's claim would) and lets this one go on."""
    asked = []

    def hand_over(execution_id: int) -> bool:
        asked.append(True)
        if len(asked) == step_number + 1:
            Execution.objects.filter(pk=execution_id).update(lease="a-newer-delivery")
        return False

    return hand_over


def test_a_delivery_that_lost_its_lease_writes_none_of_the_records_it_held(publish, start):
    version = publish(graph([mapping("a", "1"), mapping("b", "2", y=1), mapping("c", "3", y=2)], chain("a", "b", "c")))
    execution = start(version)
    take = taking_the_lease_before(2)
    recorded: list[StepRun] = []

    returned = engine.run(execution.pk, hand_over=lambda: take(execution.pk), recorded=recorded)

    assert (returned.status, returned.lease) == (Execution.Status.RUNNING, "a-newer-delivery")
    assert returned.finished is None
    assert not StepRun.objects.filter(execution=execution).exists(), "records held by a delivery that lost its lease"
    assert recorded == []


def test_without_the_lease_the_last_steps_record_is_still_written_as_it_tells_what_happened(publish, start):
    """The last step is not pure: its record waits for the finish, and is stored even when the finish
    is refused, as a record written at once is."""
    version = publish(graph([delay("d1", 0), delay("d2", 1)], chain("d1", "d2")))
    execution = start(version)
    take = taking_the_lease_before(1)

    returned = engine.run(execution.pk, hand_over=lambda: take(execution.pk))

    assert (returned.status, returned.lease) == (Execution.Status.RUNNING, "a-newer-delivery")
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", flat=True)) == ["d1", "d2"]


def test_without_the_lease_the_held_records_are_not_written_before_a_step_that_is_not_pure(publish, start):
    version = publish(graph([mapping("a", "1"), delay("d", 1)], chain("a", "d")))
    execution = start(version)
    take = taking_the_lease_before(1)

    returned = engine.run(execution.pk, hand_over=lambda: take(execution.pk))

    assert (returned.status, returned.lease) == (Execution.Status.RUNNING, "a-newer-delivery")
    assert not StepRun.objects.filter(execution=execution).exists(), "neither a's record nor d run"


def test_a_resumed_delivery_runs_again_only_the_steps_whose_records_were_not_written(publish, start):
    """A worker that died with records held: the next delivery finds the ones written and reruns the rest."""
    version = publish(graph([mapping("a", "1"), delay("d", 1), mapping("b", "steps.a + 1", y=2)], chain("a", "d", "b")))
    execution = start(version)
    take = taking_the_lease_before(2)
    engine.run(execution.pk, hand_over=lambda: take(execution.pk))  # a and d written, b's record refused
    Execution.objects.filter(pk=execution.pk).update(heartbeat=None)  # its worker is gone

    finished = engine.run(execution.pk)

    assert (finished.status, finished.output, finished.attempts) == (Execution.Status.SUCCEEDED, 2, 2)
    deliveries = dict(StepRun.objects.filter(execution=execution).values_list("step_id", "delivery"))
    assert deliveries == {"a": 1, "d": 1, "b": 2}


@pytest.mark.django_db(transaction=True)  # the items' threads write on connections of their own
def test_a_loop_of_many_quick_items_writes_every_record_in_bounded_batches(publish, start, monkeypatch):
    from flows import records

    monkeypatch.setattr(engine, "MAX_HELD", 16)
    batches = []
    write = records.journal.write

    def counted(batch, guarded, execution_id, lease):
        batches.append(len(batch))
        return write(batch, guarded, execution_id, lease)

    monkeypatch.setattr(records.journal, "write", counted)
    loop = {"id": "loop", "kind": "foreach", "name": "loop", "items": "trigger.payload.rows", "concurrency": 3}
    version = publish(graph([loop, mapping("twice", '{"n": item * 2}', group="loop", y=1)]))
    execution = start(version, {"rows": list(range(100))})
    recorded: list[StepRun] = []

    finished = engine.run(execution.pk, recorded=recorded)

    assert finished.status == Execution.Status.SUCCEEDED, finished.error
    assert finished.output == [{"n": n * 2} for n in range(100)]
    items = StepRun.objects.filter(execution=execution, step_id="twice")
    assert sorted(items.values_list("item", flat=True)) == list(range(100))
    assert len(recorded) == 101 and {r.step_id for r in recorded} == {"loop", "twice"}
    # batches of at most 16 (fewer when the check between steps wrote), the rest with the finish
    assert batches and max(batches) <= 16 and sum(batches) >= 101 - 16, batches


def test_a_record_the_database_refuses_in_a_batch_names_its_step(publish, start, monkeypatch):
    """The batch is written again one record at a time, so the error says whose record it was."""
    from flows import records

    refused = records.journal.write

    def write(batch, guarded, execution_id, lease):
        if any(r.step_id == "b" for r in batch):
            from django.db import DataError

            raise DataError("invalid input syntax for type json")
        return refused(batch, guarded, execution_id, lease)

    monkeypatch.setattr(records.journal, "write", write)
    version = publish(graph([mapping("a", "1"), mapping("b", "2", y=1), delay("d", 2)], chain("a", "b", "d")))
    execution = start(version)

    finished = engine.run(execution.pk)

    assert finished.status == Execution.Status.FAILED
    assert finished.error.startswith("Step 'b' could not be recorded: DataError"), finished.error
    assert list(StepRun.objects.filter(execution=execution).values_list("step_id", flat=True)) == ["a"]


def test_a_cancel_stores_the_skips_with_the_finish(publish, start, monkeypatch):
    monkeypatch.setattr(engine, "CONTROL_INTERVAL", 0)  # every check between steps reads the execution
    version = publish(graph([mapping("a", "1"), mapping("b", "2", y=1), mapping("c", "3", y=2)], chain("a", "b", "c")))
    execution = start(version)
    asked = []

    def cancel_before_c() -> bool:
        asked.append(True)
        if len(asked) == 3:
            Execution.objects.filter(pk=execution.pk).update(cancel_requested=True)
        return False

    finished = engine.run(execution.pk, hand_over=cancel_before_c)

    assert finished.status == Execution.Status.CANCELLED, finished.error
    stored = dict(StepRun.objects.filter(execution=execution).values_list("step_id", "status"))
    assert stored == {"a": "succeeded", "b": "succeeded", "c": "skipped"}
