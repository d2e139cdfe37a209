"""``core.plain_instances``: an instance built without ``Model.__init__`` equals the one it builds."""

from __future__ import annotations

import copy

import pytest
from django.db.models.signals import post_init, pre_init

from core.plain_instances import PlainInstances, shallow_copy
from flows.models import Execution, Flow, StepRun

pytestmark = pytest.mark.django_db


def test_an_execution_equals_what_model_init_builds_field_by_field(org, sandbox):
    flow = Flow.objects.create(organization=org, name="Plain", slug="plain")
    values = {
        "organization_id": org.pk,
        "flow": flow,
        "environment": sandbox,
        "trigger": Execution.Trigger.API,
        "input": {"payload": {"n": 1}},
        "started_by": None,
        "status": Execution.Status.RUNNING,
    }

    built, plain = Execution(**values), PlainInstances(Execution).new(**values)

    for field in Execution._meta.concrete_fields:
        assert getattr(plain, field.attname) == getattr(built, field.attname), field.name
    assert plain.flow is flow and plain.environment is sandbox and plain.started_by is None
    assert plain._state.adding and plain._state.db is None


def test_a_mutable_default_is_made_anew_for_each_instance():
    steps = PlainInstances(StepRun)
    first, second = steps.new(step_id="a"), steps.new(step_id="b")
    assert first.params == {} and first.params is not second.params
    assert (first.execution_id, first.status) == (None, StepRun._meta.get_field("status").get_default())


def test_no_receiver_of_the_init_signals_listens_to_the_models_built_so():
    for model in (Execution, StepRun):
        assert not pre_init.has_listeners(model) and not post_init.has_listeners(model), model


def test_a_shallow_copy_is_what_copy_copy_makes_and_changes_apart_from_its_original(org, sandbox):
    flow = Flow.objects.create(organization=org, name="Copied", slug="copied")
    original = PlainInstances(Execution).new(organization_id=org.pk, flow=flow, environment=sandbox, input={"n": 1})
    original._state.adding, original._state.db = False, "default"

    twin, reference = shallow_copy(original), copy.copy(original)

    assert twin is not original and type(twin) is Execution
    # copy.copy leaves the version stamp of the pickling protocol behind; nothing reads it.
    skipped = {"_state", "_django_version"}
    assert {k: v for k, v in vars(twin).items() if k not in skipped} == {
        k: v for k, v in vars(reference).items() if k not in skipped
    }
    assert vars(twin._state) == vars(reference._state) and twin.flow is flow
    twin.status, twin._state.fields_cache["flow"] = Execution.Status.SUCCEEDED, None
    twin._state.adding = True
    assert original.status == Execution.Status.QUEUED and original.flow is flow and not original._state.adding
