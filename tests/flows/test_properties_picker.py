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


# -- sample data: fields before any run ---------------------------------------------------------

ORDER_XML = '<order no="SO-7"><line><sku>A</sku><qty>2</qty></line><line><sku>B</sku><qty>1</qty></line></order>'


def save(api, slug: str, graph: dict):
    return api.put(f"/api/v1/flows/{slug}/draft/", graph, format="json")


@pytest.fixture
def fresh_flow(org):
    """A flow that has never run: Load (a mapping) then Send."""
    from flows.models import Flow

    return Flow.objects.create(organization=org, name="Fresh", slug="fresh")


FRESH = graph(
    [mapping("a", "trigger.payload", name="Load"), mapping("b", "steps.load", name="Send", y=1)], chain("a", "b")
)


def test_a_json_sample_gives_the_trigger_fields_with_types_before_any_run(api, fresh_flow, sandbox):
    sample = {"format": "json", "text": '{"order": {"no": "SO-7", "lines": [{"sku": "A", "qty": 2}]}, "rush": true}'}
    assert save(api, "fresh", {**FRESH, "sample": sample}).status_code == 200
    picked = api.get("/api/v1/flows/fresh/properties/?step=b").json()
    assert picked["trigger_source"] == "sample"
    types = {f["expression"]: f["type"] for f in picked["trigger"]}
    assert types["trigger.payload.order.lines"] == "array"
    assert types["trigger.payload.order.lines[0].qty"] == "number"
    assert types["trigger.payload.rush"] == "boolean"
    assert types["trigger.payload.order.no"] == "string"


def test_an_xml_sample_reads_as_a_webhook_reads_xml(api, fresh_flow, sandbox):
    assert save(api, "fresh", {**FRESH, "sample": {"format": "xml", "text": ORDER_XML}}).status_code == 200
    picked = properties.available(fresh_flow_refreshed(fresh_flow), "b", sandbox)
    by_expression = {f["expression"]: f for f in picked["trigger"]}
    assert by_expression['trigger.payload.order["@no"]']["example"] == "SO-7"
    assert by_expression["trigger.payload.order.line"]["type"] == "array"
    assert by_expression["trigger.payload.order.line[0].sku"]["example"] == "A"


def fresh_flow_refreshed(flow):
    flow.refresh_from_db()
    return flow


def test_a_pinned_sample_output_gives_the_fields_of_an_upstream_step_that_never_ran(api, fresh_flow, sandbox):
    pinned = {
        **FRESH,
        "steps": [{**FRESH["steps"][0], "sample_output": {"rows": [{"code": "C-1000"}]}}, FRESH["steps"][1]],
    }
    assert save(api, "fresh", pinned).status_code == 200
    (load,) = properties.available(fresh_flow_refreshed(fresh_flow), "b", sandbox)["steps"]
    assert (load["source"], load["has_run"]) == ("sample", False)
    assert [f["expression"] for f in load["fields"]] == [
        "steps.load",
        "steps.load.rows",
        "steps.load.rows[0]",
        "steps.load.rows[0].code",
    ]


def test_a_sample_too_large_is_refused_with_its_size_and_the_limit(api, fresh_flow):
    text = '{"rows": [' + ",".join(['{"code": "C-1000"}'] * 5000) + "]}"
    answer = save(api, "fresh", {**FRESH, "sample": {"format": "json", "text": text}})
    assert answer.status_code == 400
    assert "a sample may have at most 65,536" in answer.json()["errors"]["sample"][0]
    big = {**FRESH["steps"][0], "sample_output": {"rows": ["x" * 70_000]}}
    answer = save(api, "fresh", {**FRESH, "steps": [big, FRESH["steps"][1]]})
    assert answer.status_code == 400
    assert "sample output of step 'Load'" in answer.json()["errors"]["steps[0].sample_output"][0]


def test_a_sample_that_does_not_parse_is_refused_saying_where(api, fresh_flow):
    answer = save(api, "fresh", {**FRESH, "sample": {"format": "xml", "text": "<order><no>1</order>"}})
    assert answer.status_code == 400
    assert "not well-formed XML" in answer.json()["errors"]["sample"][0]
    answer = save(api, "fresh", {**FRESH, "sample": {"format": "yaml", "text": "a: 1"}})
    assert answer.status_code == 400 and "format (json, xml, execution)" in answer.json()["errors"]["sample"][0]


def test_a_run_in_the_sandbox_without_a_payload_uses_the_sample(api, fresh_flow):
    from flows.models import Execution

    sample = {"format": "execution", "execution": 41, "payload": {"customer": "C-1000"}}
    assert save(api, "fresh", {**FRESH, "sample": sample}).status_code == 200
    started = api.post("/api/v1/flows/fresh/run/", {}, format="json")
    assert started.status_code == 202, started.content
    assert Execution.objects.get(pk=started.json()["id"]).input["payload"] == {"customer": "C-1000"}
    given = api.post("/api/v1/flows/fresh/run/", {"payload": {"customer": "C-2000"}}, format="json")
    assert Execution.objects.get(pk=given.json()["id"]).input["payload"] == {"customer": "C-2000"}, "a payload wins"
