"""``flows.bulk_insert``: a batch of executions stored as Django's ``bulk_create`` stores them, in order."""

from __future__ import annotations

import pytest

from flows import bulk_insert
from flows.models import Execution
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db

AWKWARD = 'quote " backslash \\ brace { comma , é 😀 \n'


def batch(org, owner, sandbox, version, count: int) -> list[Execution]:
    return [
        Execution(
            organization=org,
            flow=version.flow,
            version=version,
            environment=sandbox,
            trigger=Execution.Trigger.EVENT,
            input={"payload": {"n": n, "text": AWKWARD, "list": [1, None, {"a": True}]}, "headers": {}, "query": {}},
            correlation_id=f"corr-{n}",
            deduplication_key=f"d-{n}" if n % 2 else "",
            ordering_key=AWKWARD if n == 1 else "",
            started_by=owner if n == 0 else None,
        )
        for n in range(count)
    ]


def stored(pk: int) -> dict:
    row = Execution.objects.filter(pk=pk).values().get()
    return {name: value for name, value in row.items() if name not in ("id", "created")}


def test_a_batch_is_stored_field_for_field_as_bulk_create_stores_it_in_order(org, owner, sandbox, publish):
    version = publish(graph([mapping("m", "1")]))
    ours = bulk_insert.create(batch(org, owner, sandbox, version, 5))
    django = Execution.objects.bulk_create(batch(org, owner, sandbox, version, 5))
    assert [e.pk for e in ours] == sorted(e.pk for e in ours)
    assert all(not e._state.adding for e in ours)
    for mine, theirs in zip(ours, django, strict=True):
        assert stored(mine.pk) == stored(theirs.pk)
    assert [Execution.objects.get(pk=e.pk).input["payload"]["n"] for e in ours] == [0, 1, 2, 3, 4]
    first = Execution.objects.get(pk=ours[0].pk)
    assert first.created == ours[0].created, "created keeps its microseconds"
    assert first.status == Execution.Status.QUEUED and first.attempts == 0 and first.progress == {}


def test_a_value_too_long_for_its_column_fails_the_whole_insert(org, owner, sandbox, publish):
    from django.db import DataError, transaction

    version = publish(graph([mapping("m", "1")]))
    executions = batch(org, owner, sandbox, version, 3)
    executions[2].correlation_id = "x" * 201
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert.create(executions)
    assert not Execution.objects.exists()
