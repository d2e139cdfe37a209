"""The property picker: env keys, trigger fields of the last run, upstream outputs of their last run."""

from __future__ import annotations

import pytest

from accounts.models import Variable
from flows import engine, properties, versions
from tests.flows.builders import chain, graph, mapping

LOAD = '{"customer": {"id": trigger.payload.id, "name": "Ada"}, "key": env.API_KEY}'


@pytest.fixture
def flow_with_runs(publish, start, org, sandbox, secret_var):
    Variable.objects.create(organization=org, environment=sandbox, key="COMPANY_CODE", value="1000")
    version = publish(
        graph(
            [
                mapping("a", LOAD, name="Load"),
                mapping("b", '{"total": 3, "lines": [{"sku": "A"}]}', name="Price", y=1),
                mapping("c", "steps.load.customer", name="Send", y=2),
                mapping("d", '"unrelated"', name="Side", y=0),
            ],
            chain("a", "b", "c"),
        )
    )
    engine.run(start(version, {"id": 1}).pk)
    engine.run(start(version, {"id": 2, "order": {"no": "SO-9"}}, headers={"X-Tenant": "t1"}).pk)
    return version.flow


def expressions(entries):
    return [e["expression"] for e in entries]


def test_env_lists_keys_and_never_a_secret_value(flow_with_runs, sandbox):
    picked = properties.available(flow_with_runs, "c", sandbox)
    assert picked["env"] == [
        {"expression": "env.API_KEY", "secret": True, "example": None},
        {"expression": "env.COMPANY_CODE", "secret": False, "example": "1000"},
    ]


def test_trigger_fields_come_from_the_last_run(flow_with_runs, sandbox):
    picked = properties.available(flow_with_runs, "c", sandbox)
    assert expressions(picked["trigger"]) == [
        "trigger.payload",
        "trigger.payload.id",
        "trigger.payload.order",
        "trigger.payload.order.no",
        "trigger.headers",
        'trigger.headers["X-Tenant"]',
        "trigger.query",
    ]
    by_expression = {e["expression"]: e for e in picked["trigger"]}
    assert by_expression["trigger.payload.order.no"] == {
        "expression": "trigger.payload.order.no",
        "type": "string",
        "example": "SO-9",
    }


def test_only_upstream_steps_are_offered_with_the_fields_of_their_last_output(flow_with_runs, sandbox):
    picked = properties.available(flow_with_runs, "c", sandbox)
    assert [(s["name"], s["expression"], s["has_run"]) for s in picked["steps"]] == [
        ("Load", "steps.load", True),
        ("Price", "steps.price", True),
    ]
    load, price = picked["steps"]
    assert expressions(load["fields"]) == [
        "steps.load",
        "steps.load.customer",
        "steps.load.key",
        "steps.load.customer.id",
        "steps.load.customer.name",
    ]
    assert {f["expression"]: f["example"] for f in load["fields"]}["steps.load.key"] == "••••••••"
    assert {f["expression"]: f["example"] for f in load["fields"]}["steps.load.customer.id"] == 2
    assert "steps.price.lines[0].sku" in expressions(price["fields"])


def test_a_step_that_has_not_run_yet_is_offered_without_fields(flow_with_runs, sandbox, owner):
    draft = dict(flow_with_runs.draft)
    draft["steps"] = [*draft["steps"], mapping("e", "1", name="New", y=3)]
    draft["edges"] = [*draft["edges"], {"source": "e", "target": "c"}]
    assert versions.save_draft(flow_with_runs, draft, owner) == []
    picked = properties.available(flow_with_runs, "c", sandbox)
    assert [(s["name"], s["has_run"], s["fields"]) for s in picked["steps"]][-1] == ("New", False, [])


def test_the_first_step_has_no_upstream_and_an_unknown_step_gets_nothing(flow_with_runs, sandbox):
    assert properties.available(flow_with_runs, "a", sandbox)["steps"] == []
    assert properties.available(flow_with_runs, "nope", sandbox)["steps"] == []


def test_another_environment_has_its_own_variables_and_no_runs(flow_with_runs, production):
    picked = properties.available(flow_with_runs, "c", production)
    assert picked["env"] == []
    assert expressions(picked["trigger"]) == ["trigger.payload", "trigger.headers", "trigger.query"]
    assert all(not s["has_run"] for s in picked["steps"])
    assert expressions(picked["execution"]) == ["execution.id", "execution.correlation_id"]
