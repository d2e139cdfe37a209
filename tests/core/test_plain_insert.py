"""``core.plain_insert``: the row it writes is the row ``Model.objects.create`` writes, and the rows
written with it are rows no save receiver acts on."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.forms.models import model_to_dict

from audit.models import AuditEvent
from core.plain_insert import PlainInsert
from flows import triggers, versions
from flows.models import Execution, Flow
from tests.api.conftest import ADD_FIELD

pytestmark = pytest.mark.django_db

SKIPPED = {"id", "created"}


def test_an_execution_is_stored_as_create_would_store_it(org, owner, sandbox):
    flow = Flow.objects.create(organization=org, name="Insert", slug="insert")
    versions.save_draft(flow, ADD_FIELD, owner)
    version = versions.publish(flow, owner, "v1")
    fields = {
        "organization_id": org.pk,
        "flow": flow,
        "version": version,
        "environment": sandbox,
        "trigger": Execution.Trigger.API,
        "input": {"payload": {"name": "Ada \u2603", "lines": [1, 2]}, "headers": {}, "query": {}},
        "correlation_id": "corr",
        "status": Execution.Status.RUNNING,
        "attempts": 1,
        "lease": "abc",
    }
    created = Execution.objects.create(**fields)
    inserted = PlainInsert(Execution)(Execution(**fields))

    assert inserted.pk and inserted.pk != created.pk and not inserted._state.adding
    stored = Execution.objects.get(pk=inserted.pk)
    expected = {k: v for k, v in model_to_dict(Execution.objects.get(pk=created.pk)).items() if k not in SKIPPED}
    assert {k: v for k, v in model_to_dict(stored).items() if k not in SKIPPED} == expected
    assert stored.created is not None and stored.created >= created.created  # auto_now_add applied
    inserted.status = Execution.Status.SUCCEEDED
    inserted.save(update_fields=["status"])  # saved as save() leaves it: an UPDATE of its row
    assert Execution.objects.get(pk=inserted.pk).status == Execution.Status.SUCCEEDED


def test_the_audit_log_acts_on_replays_only_which_triggers_save_with_their_signals(org, owner, sandbox):
    """flows.triggers writes an execution with ``PlainInsert`` unless it replays another one."""
    flow = Flow.objects.create(organization=org, name="Insert", slug="insert")
    versions.save_draft(flow, ADD_FIELD, owner)
    version = versions.publish(flow, owner, "v1")
    fields = {"organization_id": org.pk, "flow": flow, "version": version, "environment": sandbox, "input": {}}
    first = Execution.objects.create(**fields)
    assert not AuditEvent.objects.filter(object_type="execution").exists()

    first.status = Execution.Status.FAILED
    first.save()
    with transaction.atomic():
        replay = triggers.replay(first, owner)
    assert AuditEvent.objects.filter(object_type="execution", action=AuditEvent.Action.REPLAY).count() == 1
    assert replay.replay_of_id == first.pk
