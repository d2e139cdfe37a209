"""The environment's variables as executions read them (accounts.variable_cache): once a second per
process, a change made in this process seen at once, secrets masked in every record."""

from __future__ import annotations

import pytest

from accounts import variable_cache
from accounts.models import Variable
from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import graph, mapping

SHOW = graph([mapping("show", '{"region": env.REGION, "key": env.API_KEY}')])


@pytest.fixture
def region(org, sandbox):
    return Variable.objects.create(organization=org, environment=sandbox, key="REGION", value="eu")


@pytest.fixture
def long_lived(monkeypatch):
    """Entries outlive the test however slow the machine: only an invalidation can drop them."""
    monkeypatch.setattr(variable_cache._environments, "seconds", 60)


def run(start, version) -> Execution:
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    return execution


def test_a_variable_changed_in_this_process_is_seen_by_the_next_run(publish, start, region, long_lived):
    version = publish(SHOW)
    assert run(start, version).output["region"] == "eu"

    region.value = "us"
    region.save()
    assert run(start, version).output["region"] == "us"

    Variable.objects.create(organization=region.organization, environment=region.environment, key="API_KEY", value="k")
    assert run(start, version).output == {"region": "us", "key": "k"}

    region.delete()
    assert run(start, version).output == {"key": "k"}


def test_a_change_from_another_process_is_seen_once_the_entry_expires(publish, start, region, long_lived):
    """An UPDATE without signals stands for another process's change: cached until the entry expires."""
    version = publish(SHOW)
    assert run(start, version).output["region"] == "eu"
    Variable.objects.filter(pk=region.pk).update(value="us")

    assert run(start, version).output["region"] == "eu", "read from this process's entry"
    variable_cache._environments.seconds = 0  # the entry read next has expired at once
    variable_cache._environments.forget()
    assert run(start, version).output["region"] == "us"


def test_the_variables_are_read_once_per_environment_within_the_second(
    publish, start, region, long_lived, django_assert_num_queries
):
    version = publish(SHOW)
    run(start, version)
    with django_assert_num_queries(0):
        variables = variable_cache.of(region.environment_id)
    assert variables.values["REGION"] == "eu"


def test_a_secret_stays_masked_in_records_when_the_variables_come_from_the_cache(
    publish, start, secret_var, long_lived
):
    version = publish(graph([mapping("leak", '{"key": env.API_KEY, "said": "key=" & env.API_KEY}')]))
    first = run(start, version)
    second = run(start, version)  # from the cache

    for execution in (first, second):
        record = StepRun.objects.get(execution=execution)
        assert secret_var not in str(record.output) and secret_var not in str(execution.output)
        assert record.output == {"key": "••••••••", "said": "key=••••••••"}


def test_a_secret_changed_in_this_process_is_masked_under_its_new_value(
    publish, start, secret_var, long_lived, sandbox
):
    version = publish(graph([mapping("leak", '{"key": env.API_KEY}')]))
    run(start, version)
    variable = Variable.objects.get(environment=sandbox, key="API_KEY")
    variable.set_value("n3w-s3cret-Value")
    variable.save()

    execution = run(start, version)

    assert StepRun.objects.get(execution=execution).output == {"key": "••••••••"}
    assert execution.output == {"key": "••••••••"}
