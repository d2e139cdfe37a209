"""What keeps a short execution cheap: the engine's round trips, and database connections kept across tasks.

bench/trigger.py measures the time; these tests pin the mechanisms that the figures rest on, so that
a change that quietly adds a query per execution, or a connection per task, fails here.
"""

from __future__ import annotations

from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from accounts import variable_cache
from flows import engine, leases
from flows.models import Execution, StepRun
from flows.tasks import run_execution
from tests.flows.builders import graph, mapping
from tests.flows.workers import Workers, database_url, wait_until

ADD_FIELD = graph([mapping("add", '$merge([trigger.payload, {"seen": true}])', name="Add field")])


def test_a_first_delivery_of_a_one_step_flow_takes_two_queries(publish, start, django_assert_num_queries, monkeypatch):
    """The claim (read back in the same statement), then the StepRun and the finish in one statement;
    the environment's variables were read within the second before (``accounts.variable_cache``)."""
    monkeypatch.setattr(variable_cache._environments, "seconds", 60)  # a slow machine's warm-up must not outlast it
    version = publish(ADD_FIELD)
    engine.run(start(version, {"n": 0}).pk)  # the process now has the version's plan
    execution = start(version, {"n": 1})

    with django_assert_num_queries(2):
        finished = engine.run(execution.pk)

    assert finished.status == Execution.Status.SUCCEEDED
    assert finished.output == {"n": 1, "seen": True}
    assert finished.attempts == 1 and finished.lease and finished.started
    assert StepRun.objects.filter(execution=execution).count() == 1


def test_the_claim_reads_back_what_it_wrote_and_a_second_claim_is_refused(publish, start):
    version = publish(ADD_FIELD)
    execution = start(version, {"n": 2})

    claimed = leases.claim(execution.pk, "lease-one")

    assert claimed.pk == execution.pk
    assert (claimed.status, claimed.attempts, claimed.lease) == (Execution.Status.RUNNING, 1, "lease-one")
    assert claimed.input["payload"] == {"n": 2}
    assert claimed.version_id == version.pk and claimed.version_created is not None
    assert leases.claim(execution.pk, "lease-two") is None, "a live lease is not taken over"
    stored = Execution.objects.get(pk=execution.pk)
    assert (stored.lease, stored.attempts) == ("lease-one", 1)

    stale = timezone.now() - timedelta(seconds=leases.lease_seconds() + 1)
    Execution.objects.filter(pk=execution.pk).update(heartbeat=stale)
    taken = leases.claim(execution.pk, "lease-three")
    assert (taken.attempts, taken.lease, taken.started) == (2, "lease-three", claimed.started)


def test_an_eager_task_leaves_its_callers_connection_and_transaction_alone(publish, start):
    """Recycling connections around tasks must not close the connection of a caller that runs one eagerly."""
    execution = start(publish(ADD_FIELD), {"n": 3})
    opened = connection.connection

    assert run_execution.apply((execution.pk,)).get() == Execution.Status.SUCCEEDED

    assert connection.connection is opened
    assert connection.in_atomic_block
    assert Execution.objects.get(pk=execution.pk).status == Execution.Status.SUCCEEDED


def sessions_opened() -> int:
    """Connections ever opened to the test database (PostgreSQL counts them in ``pg_stat_database``)."""
    with psycopg.connect(database_url(), autocommit=True) as db:
        db.execute("SELECT pg_stat_clear_snapshot()")
        return db.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()").fetchone()[0]


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_from_one_execution_to_the_next(publish, start, redis_url, tmp_path):
    version = publish(ADD_FIELD)
    workers = Workers(redis_url, tmp_path)
    try:
        workers.start(concurrency=1)
        first = start(version, {"n": 0})
        workers.enqueue(first.pk)
        wait_until(lambda: Execution.objects.get(pk=first.pk).is_final, 60, message="the first execution")
        before = sessions_opened()
        later = [start(version, {"n": n}) for n in range(1, 11)]
        for execution in later:
            workers.enqueue(execution.pk)
        ids = [e.pk for e in later]
        wait_until(
            lambda: Execution.objects.filter(pk__in=ids, status__in=Execution.FINAL).count() == len(ids),
            60,
            message="ten executions",
        )
        opened = sessions_opened() - before
    finally:
        workers.close()

    assert set(Execution.objects.filter(pk__in=ids).values_list("status", flat=True)) == {Execution.Status.SUCCEEDED}
    # the probes above open one session each; Celery's own fixup would open one per task (ten more)
    assert opened <= 3, f"{opened} connections were opened for ten executions"
