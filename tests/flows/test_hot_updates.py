"""An execution's claim is a HOT update on PostgreSQL: it writes no index entry.

Every execution is claimed once or more, and a claim that changed an indexed column would write an
entry in each of the table's indexes; none of them reads what a claim changes (``flows.models``,
the comment on Execution's indexes). PostgreSQL counts the current transaction's HOT updates, so
the test reads the count inside its own transaction.
"""

from __future__ import annotations

import pytest
from django.db import connection

from flows import leases
from flows.models import Execution
from tests.flows.builders import graph, mapping

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="HOT updates are PostgreSQL's"),
]


def updates() -> tuple[int, int]:
    """(updates, HOT updates) of the execution table in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_stat_get_xact_tuples_updated(%s::regclass), pg_stat_get_xact_tuples_hot_updated(%s::regclass)",
            [Execution._meta.db_table] * 2,
        )
        return cursor.fetchone()


def test_a_claim_and_a_heartbeat_change_no_indexed_column(publish, start):
    execution = start(publish(graph([mapping("a", '"done"')])), correlation_id="order-7")
    before = updates()

    assert leases.claim(execution.pk, "lease-1") is not None
    Execution.objects.filter(pk=execution.pk).update(heartbeat=execution.created)

    done, hot = (after - earlier for after, earlier in zip(updates(), before, strict=True))
    assert (done, hot) == (2, 2), "every update of a claimed execution before its finish is HOT"


def test_the_finish_leaves_the_unfinished_index_so_the_sweeps_never_read_past_it(publish, start):
    execution = start(publish(graph([mapping("a", '"done"')])))
    leases.claim(execution.pk, "lease-1")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        unfinished = "SELECT count(*) FROM flows_execution WHERE finished IS NULL"
        cursor.execute(unfinished)
        assert cursor.fetchone() == (1,)
        Execution.objects.get(pk=execution.pk).finish(Execution.Status.SUCCEEDED, lease="lease-1")
        cursor.execute(unfinished)
        assert cursor.fetchone() == (0,)
        cursor.execute("EXPLAIN " + unfinished)
        assert "execution_unfinished" in " ".join(row[0] for row in cursor.fetchall())
