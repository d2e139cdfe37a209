"""Ordered use cases: the ordering key of each event, only the head of a line sent to the workers,
the next one sent when it ends (whatever the ending), across batches, under concurrency, past the
stranded sweep, and under a real worker with 4 threads."""

from __future__ import annotations

import threading
from datetime import timedelta

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.choices import Scope
from flows import engine, stranded
from flows.models import Execution
from flows.tasks import run_execution, run_executions
from tests.api.conftest import ADD_FIELD, FAILING, queued_ids
from tests.api.test_events import event, outcomes, send, send_at_once
from tests.conftest import token_client
from tests.flows.builders import graph, sql
from tests.flows.conftest import make_connector  # noqa: F401 - the flow tests' connector fixture
from tests.flows.workers import wait_until


def keyed(customer, n=0, **fields) -> dict:
    return event(payload=f'{{"customerId": {customer}, "n": {n}}}', **fields)


@pytest.fixture
def ordered(make_flow, sandbox):
    """Use case 'orders', ordered by the customer: each event adds a field."""
    return make_flow(
        ADD_FIELD,
        slug="orders",
        deploy=[sandbox],
        use_case_slug="orders",
        use_case_enabled=True,
        ordered_by="payload.customerId",
    )


@pytest.fixture
def sent(monkeypatch):
    """The ids handed to the workers' queue, in order; the callbacks after commit run as they would."""
    calls: list[int] = []
    monkeypatch.setattr(run_execution, "apply_async", lambda args, queue, **options: calls.append(args[0]))
    monkeypatch.setattr(run_executions, "apply_async", lambda args, queue, **options: calls.extend(args[0]))
    return calls


def accepted(api, events, capture) -> list[int]:
    with capture(execute=True):
        response = send(api, events)
    answer = response.json()["events"]
    assert [o["outcome"] for o in answer] == ["accepted"] * len(events), answer
    return [o["id"] for o in answer]


def ended(capture, action) -> None:
    with capture(execute=True):
        action()


@pytest.mark.django_db
class TestKeys:
    def test_the_key_is_the_expressions_value_over_the_event_as_text(self, api, ordered, sent):
        response = send(
            api,
            [
                keyed(42),
                event(payload='{"customerId": "C-7 "}'),
                event(payload='{"customerId": 4.0}'),
                event(payload='{"other": 1}'),
                event(payload='{"customerId": ""}'),
            ],
        )
        assert outcomes(response) == [("accepted", "")] * 5
        ids = [o["id"] for o in response.json()["events"]]
        keys = dict(Execution.objects.values_list("pk", "ordering_key"))
        assert [keys[i] for i in ids] == ["42", "C-7", "4", "", ""]

    def test_the_key_may_read_the_envelope_too(self, api, make_flow, sandbox):
        make_flow(
            ADD_FIELD,
            slug="typed",
            deploy=[sandbox],
            use_case_slug="typed",
            use_case_enabled=True,
            ordered_by='type & ":" & payload.id',
        )
        response = send(api, [event("typed", '{"id": 3}', event_type="UPDATE")])
        assert Execution.objects.get(pk=response.json()["events"][0]["id"]).ordering_key == "UPDATE:3"

    def test_a_key_that_cannot_be_computed_rejects_that_event_only(self, api, ordered):
        response = send(
            api,
            [
                keyed(1),
                event(payload='{"customerId": {"a": 1}}'),
                event(payload='{"customerId": [1, 2]}'),
                event(payload='{"customerId": "%s"}' % ("x" * 201)),
            ],
        )
        answer = outcomes(response)
        assert answer[0] == ("accepted", "")
        not_text = "the ordering key (payload.customerId) must be text or a number; it gave"
        assert answer[1:3] == [("rejected", f"{not_text} an object"), ("rejected", f"{not_text} a list")]
        assert answer[3] == ("rejected", "the ordering key is 201 characters long; at most 200 are allowed")
        assert Execution.objects.count() == 1

    def test_an_expression_that_fails_rejects_the_event_with_its_error(self, api, ordered):
        ordered.ordered_by = '$error("no customer")'
        ordered.save()
        answer = outcomes(send(api, [keyed(1)]))
        assert answer[0][0] == "rejected"
        assert answer[0][1].startswith('the ordering key ($error("no customer")) could not be computed:')
        assert "no customer" in answer[0][1]
        assert not Execution.objects.exists()


@pytest.mark.django_db
class TestLines:
    def test_only_the_head_of_each_line_is_sent_and_keys_do_not_wait_for_each_other(
        self, api, ordered, sent, django_capture_on_commit_callbacks
    ):
        a1, b1, a2, none, a3 = accepted(
            api, [keyed(1), keyed(2), keyed(1), event(), keyed(1)], django_capture_on_commit_callbacks
        )
        assert sent == [a1, b1, none]
        assert set(Execution.objects.values_list("status", flat=True)) == {"queued"}

    def test_when_the_head_ends_the_next_of_its_line_is_sent_whatever_the_ending(
        self, api, make_flow, sandbox, sent, django_capture_on_commit_callbacks
    ):
        capture = django_capture_on_commit_callbacks
        make_flow(FAILING, slug="f", deploy=[sandbox], use_case_slug="f", use_case_enabled=True, ordered_by="payload.c")
        first, second, third, fourth = accepted(api, [event("f", '{"c": 1}')] * 4, capture)
        assert sent == [first]

        ended(capture, lambda: engine.run(first))
        assert Execution.objects.get(pk=first).status == "failed"
        assert sent == [first, second], "a failed event does not block its entity"

        ended(capture, lambda: engine.request_cancel(Execution.objects.get(pk=second)))
        assert sent == [first, second, third], "nor does a cancelled one"

        ended(capture, lambda: engine.request_cancel(Execution.objects.get(pk=fourth)))
        assert fourth not in sent, "cancelling one held further back sends nothing past the head"
        assert sent[-1] == third

        ended(capture, lambda: engine.run(third))
        assert fourth not in sent
        assert not Execution.objects.filter(status="queued").exists()

    def test_a_later_batch_waits_behind_the_unfinished_events_of_an_earlier_one(
        self, api, ordered, sent, django_capture_on_commit_callbacks
    ):
        capture = django_capture_on_commit_callbacks
        a1, a2 = accepted(api, [keyed(1, 1), keyed(1, 2)], capture)
        a3, b1 = accepted(api, [keyed(1, 3), keyed(2, 1)], capture)
        assert sent == [a1, b1]
        for done, following in ((a1, a2), (a2, a3)):
            ended(capture, lambda done=done: engine.run(done))
            assert sent[-1] == following
        ended(capture, lambda: engine.run(a3))
        assert Execution.objects.get(pk=a3).output["n"] == 3
        assert len(sent) == 4

    def test_a_replay_of_an_ordered_event_queues_behind_its_line(
        self, api, ordered, sent, django_capture_on_commit_callbacks
    ):
        capture = django_capture_on_commit_callbacks
        (a1,) = accepted(api, [keyed(1)], capture)
        ended(capture, lambda: engine.run(a1))
        (a2,) = accepted(api, [keyed(1)], capture)
        with capture(execute=True):
            replay = api.post("/api/v1/events/replay", {"event_ids": [a1]}, format="json").json()["events"][0]["id"]
        assert Execution.objects.get(pk=replay).ordering_key == "1"
        assert sent == [a1, a2]
        ended(capture, lambda: engine.run(a2))
        assert sent == [a1, a2, replay]

    def test_the_stranded_sweep_sends_heads_and_leaves_held_executions_alone(
        self, api, ordered, sent, settings, django_capture_on_commit_callbacks
    ):
        settings.ERPFLOW_EXECUTION_STRANDED_SECONDS = 60
        a1, a2, b1 = accepted(api, [keyed(1), keyed(1), keyed(2)], django_capture_on_commit_callbacks)
        Execution.objects.update(created=timezone.now() - timedelta(seconds=120))
        sent.clear()
        assert stranded.resend(run_execution) == 2
        assert sorted(sent) == sorted([a1, b1])
        assert a2 not in sent


@pytest.mark.django_db(transaction=True)
def test_two_batches_at_once_for_one_key_form_one_line_in_acceptance_order(org, owner, ordered, broker, redis_url):
    answers = send_at_once(org, owner, [[keyed(7, index * 10 + n) for n in range(5)] for index in range(6)])
    line = list(Execution.objects.order_by("pk").values_list("pk", "input__payload__n"))
    assert len(line) == 30
    assert queued_ids(redis_url, broker) == [line[0][0]], "one head for the key, however the batches interleaved"
    for answer in answers:
        ids = [o["id"] for o in answer.json()["events"]]
        assert ids == sorted(ids), "each batch in its own order"


@pytest.mark.django_db(transaction=True)
def test_an_event_for_a_key_whose_earlier_event_is_not_committed_yet_waits_for_it(
    org, owner, api, ordered, broker, redis_url
):
    """The lock on (flow, key): a second batch cannot look at the line until the first one's commit."""
    answers: list = []

    def second_batch() -> None:
        try:
            answers.append(send(token_client(org, owner, [Scope.EVENTS_WRITE]), [keyed(7, 2)]))
        finally:
            connection.close()

    with transaction.atomic():
        first = send(api, [keyed(7, 1)]).json()["events"][0]["id"]
        thread = threading.Thread(target=second_batch)
        thread.start()
        thread.join(1.5)
        assert thread.is_alive(), "the second batch went on while the first had not committed"
    thread.join(30)
    second = answers[0].json()["events"][0]["id"]
    assert second > first
    assert queued_ids(redis_url, broker) == [first]


TABLE = "erpflow_test_ordering_log"


@pytest.fixture
def log_table(postgres_url):
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(f"CREATE TABLE {TABLE} (seq bigserial PRIMARY KEY, customer text, n int, at timestamptz)")
    yield postgres_url
    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_under_4_worker_threads_one_key_runs_in_order_and_keys_run_side_by_side(
    api, make_flow, sandbox, log_table, workers, request
):
    """Each event sleeps 0.3 s in PostgreSQL, then writes its number in a log table (whose sequence
    is the order the statements finished in); the executions' own start and finish times show
    whether two ran at once."""
    pg = request.getfixturevalue("make_connector")("postgres", log_table, [sandbox], name="Log")
    statement = (
        f"INSERT INTO {TABLE} (customer, n, at) SELECT {{{{ trigger.payload.c }}}}, "
        "CAST({{ trigger.payload.n }} AS int), clock_timestamp() FROM pg_sleep(0.3)"
    )
    make_flow(
        graph([sql("log", pg, statement)]),
        slug="logged",
        deploy=[sandbox],
        use_case_slug="logged",
        use_case_enabled=True,
        ordered_by="payload.c",
    )
    batch = [event("logged", f'{{"c": "{c}", "n": {n}}}') for n in range(4) for c in ("A", "B", "C")]
    first = send(api, batch[:6])
    second = send(api, batch[6:])
    assert [o["outcome"] for o in first.json()["events"] + second.json()["events"]] == ["accepted"] * 12
    wait_until(
        lambda: Execution.objects.filter(status__in=Execution.FINAL).count() == 12,
        60,
        message=f"12 finished executions; {workers.logs()[-2000:]}",
    )
    assert set(Execution.objects.values_list("status", flat=True)) == {"succeeded"}, workers.logs()[-2000:]
    with psycopg.connect(log_table) as db:
        written = db.execute(f"SELECT customer, n FROM {TABLE} ORDER BY seq").fetchall()
    for customer in "ABC":
        assert [n for c, n in written if c == customer] == [0, 1, 2, 3], written
    runs = {
        key: list(Execution.objects.filter(ordering_key=key).order_by("pk").values_list("started", "finished"))
        for key in "ABC"
    }
    for key, line in runs.items():
        for (_, finished), (started, _) in zip(line, line[1:], strict=False):
            assert finished <= started, f"two executions of key {key} ran at once: {line}"
    a_started, a_finished = runs["A"][0]
    assert any(started < a_finished and a_started < finished for started, finished in runs["B"] + runs["C"]), (
        "executions of different keys ran side by side"
    )
