"""``flows.bulk_insert``: a batch of executions stored as Django's ``bulk_create`` stores them, in order."""

from __future__ import annotations

import pytest
from django.utils import timezone

from flows import bulk_insert
from flows.models import Execution
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db

AWKWARD = 'quote " backslash \\ brace { comma , é 😀 \n'


def batch(org, owner, sandbox, version, count: int) -> list[dict]:
    return [
        {
            "organization_id": org.pk,
            "flow_id": version.flow_id,
            "version_id": version.pk,
            "environment_id": sandbox.pk,
            "trigger": Execution.Trigger.EVENT,
            "input": {"payload": {"n": n, "text": AWKWARD, "list": [1, None, {"a": True}]}, "headers": {}, "query": {}},
            "correlation_id": f"corr-{n}",
            "deduplication_key": f"d-{n}" if n % 2 else "",
            "ordering_key": AWKWARD if n == 1 else "",
            "started_by_id": owner.pk if n == 0 else None,
        }
        for n in range(count)
    ]


def stored(pk: int) -> dict:
    row = Execution.objects.filter(pk=pk).values().get()
    return {name: value for name, value in row.items() if name not in ("id", "created")}


def test_a_batch_is_stored_field_for_field_as_bulk_create_stores_it_in_order(org, owner, sandbox, publish):
    version = publish(graph([mapping("m", "1")]))
    before = timezone.now()
    ours = bulk_insert.create(batch(org, owner, sandbox, version, 5))
    django = Execution.objects.bulk_create([Execution(**row) for row in batch(org, owner, sandbox, version, 5)])
    assert ours == sorted(ours)
    for mine, theirs in zip(ours, django, strict=True):
        assert stored(mine) == stored(theirs.pk)
    assert [Execution.objects.get(pk=pk).input["payload"]["n"] for pk in ours] == [0, 1, 2, 3, 4]
    first = Execution.objects.get(pk=ours[0])
    assert before <= first.created <= timezone.now()
    created = [Execution.objects.get(pk=pk).created for pk in ours]
    assert created == sorted(set(created)), "each row is created later than the one before: lists keep the order"
    assert first.status == Execution.Status.QUEUED and first.attempts == 0 and first.progress == {}


def test_a_value_too_long_for_its_column_fails_the_whole_insert(org, owner, sandbox, publish):
    from django.db import DataError, transaction

    version = publish(graph([mapping("m", "1")]))
    rows = batch(org, owner, sandbox, version, 3)
    rows[2]["correlation_id"] = "x" * 201
    with pytest.raises(DataError), transaction.atomic():
        bulk_insert.create(rows)
    assert not Execution.objects.exists()
