"""The claim reads the execution it takes back in its own statement, with its environment and plan key."""

from __future__ import annotations

import pytest

from flows import leases
from flows.models import Execution
from tests.flows.builders import graph, mapping

pytestmark = pytest.mark.django_db


def test_the_claimed_row_equals_the_stored_row_with_its_environment(publish, start, sandbox, django_assert_num_queries):
    version = publish(graph([mapping("a", '"done"')]))
    execution = start(version, payload={"order": {"lines": [1, 2]}, "note": "é"})

    with django_assert_num_queries(1):
        claimed = leases.claim(execution.pk, "lease-1")
        environment = claimed.environment  # read in the claim's statement, no query of its own

    stored = Execution.objects.select_related("environment").get(pk=execution.pk)
    for field in Execution._meta.concrete_fields:
        assert getattr(claimed, field.attname) == getattr(stored, field.attname), field.name
    assert claimed.input["payload"] == {"order": {"lines": [1, 2]}, "note": "é"}
    assert claimed.status == "running" and claimed.lease == "lease-1" and claimed.attempts == 1
    assert claimed.started.tzinfo is not None
    for field in type(environment)._meta.concrete_fields:
        assert getattr(environment, field.attname) == getattr(stored.environment, field.attname), field.name
    assert environment == sandbox
    assert claimed.version_created == version.created
    assert not claimed._state.adding, "a claimed row is saved as an UPDATE, not a second INSERT"


def test_a_live_lease_is_not_claimed_again(publish, start):
    execution = start(publish(graph([mapping("a", '"done"')])))
    assert leases.claim(execution.pk, "first") is not None
    assert leases.claim(execution.pk, "second") is None
    assert Execution.objects.get(pk=execution.pk).lease == "first"
