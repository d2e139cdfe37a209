"""HTTP steps in real executions: what is recorded, error statuses, retries, timeouts, parsed bodies."""

from __future__ import annotations

import time

import pytest

from accounts.models import Variable
from flows import engine
from flows.models import Execution, StepRun
from tests.flows.builders import chain, graph, mapping, sql
from tests.http import server as srv

pytestmark = pytest.mark.django_db


def http_step(sid, connector, instruction, **extra):
    return sql(sid, connector, instruction, **extra)


def test_no_secret_reaches_a_step_record_even_when_the_server_echoes_the_request(
    publish, start, http_connector, sandbox, org, secret_var, api_server
):
    Variable.objects.create(organization=org, environment=sandbox, key="PLAIN_TOKEN", value="plain-Bearer-value-77")
    connector = http_connector({"auth_type": "bearer", "token": srv.TOKEN, "default_headers": "X-Client: erpflow"})
    instruction = (
        "POST /echo/{{ trigger.payload.id }}\n"
        "X-Api-Key: {{ env.API_KEY }}\n"
        "Authorization: Bearer {{ env.PLAIN_TOKEN }}\n"
        "Cookie: sid={{ env.PLAIN_TOKEN }}\n"
        "?q={{ trigger.payload.id }}\n"
        "\n"
        '{"key": {{ env.API_KEY }}, "id": {{ trigger.payload.id }}}'
    )
    version = publish(graph([http_step("a", connector, instruction)]))
    execution = engine.run(start(version, {"id": "A 1"}).pk)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    echoed = api_server.state.requests[-1]
    assert echoed["headers"]["authorization"] == f"Bearer {srv.TOKEN}", "the connector's authentication wins"
    assert echoed["headers"]["cookie"] == "sid=plain-Bearer-value-77"
    assert echoed["headers"]["x-api-key"] == secret_var, "sent as given"
    assert echoed["headers"]["x-client"] == "erpflow"
    assert echoed["raw_path"] == "/echo/A%201?q=A+1"
    record = StepRun.objects.get(execution=execution)
    assert record.instruction == "POST /echo/A%201"
    assert record.params["headers"] == {"X-Api-Key": "••••••••", "Authorization": "••••••••", "Cookie": "••••••••"}
    stored = str(list(StepRun.objects.filter(execution=execution).values())) + str(execution.output)
    for secret in (secret_var, "plain-Bearer-value-77", srv.TOKEN):
        assert secret not in stored


def test_a_5xx_fails_the_step_with_the_status_and_the_servers_words(publish, start, http_connector):
    connector = http_connector()
    version = publish(graph([http_step("a", connector, "GET /status/502", ignore=True), mapping("b", "1", y=1)]))
    execution = engine.run(start(version).pk)

    assert execution.status == Execution.Status.COMPLETED_WITH_ERRORS
    record = StepRun.objects.get(execution=execution, step_id="a")
    assert record.status == StepRun.Status.ERROR_IGNORED
    assert record.error == 'GET /status/502 answered 502: {"error": "status 502 as asked"}'


def test_a_429_is_retried_after_retry_after_and_then_fails(publish, start, http_connector, api_server):
    api_server.state.retry_after = "1"
    connector = http_connector()
    version = publish(graph([http_step("a", connector, "GET /status/429", options={"retries": 2}, timeout_ms=5000)]))
    began = time.monotonic()
    execution = engine.run(start(version).pk)

    assert execution.status == Execution.Status.FAILED
    assert api_server.state.status_calls == 3
    assert time.monotonic() - began >= 2.0, "it waited as Retry-After asked"
    assert "answered 429" in StepRun.objects.get(execution=execution).error


def test_an_error_status_can_be_an_output_instead_of_a_failure(publish, start, http_connector):
    connector = http_connector()
    version = publish(graph([http_step("a", connector, "GET /status/404", options={"fail_on_error_status": False})]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.SUCCEEDED
    assert execution.output["status"] == 404
    assert execution.output["body"] == {"error": "status 404 as asked"}


def test_a_slow_server_beyond_the_deadline_times_the_step_out_and_drops_the_connection(
    publish, start, http_connector, api_server
):
    api_server.state.slow_seconds = 5
    connector = http_connector()
    version = publish(graph([http_step("a", connector, "GET /slow", timeout_ms=800)]))
    execution = engine.run(start(version).pk)

    record = StepRun.objects.get(execution=execution)
    assert record.status == StepRun.Status.TIMED_OUT
    assert 700 <= record.duration_ms < 5000, "cut at the step's timeout, before the server answered after 5 s"
    assert "did not answer within the step's timeout" in record.error


def test_xml_is_parsed_and_set_cookie_masked_and_a_response_mapping_shapes_the_output(publish, start, http_connector):
    connector = http_connector()
    version = publish(
        graph(
            [
                http_step("a", connector, "GET /xml", name="Raw"),
                http_step(
                    "b",
                    connector,
                    "GET /xml",
                    name="Mapped",
                    options={"response_mapping": '{"sku": body.order.line."@sku"}'},
                ),
                mapping("c", '{"raw": steps.raw, "mapped": steps.mapped}', name="Both"),
            ],
            chain("a", "b", "c"),
        )
    )
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    raw = execution.output["raw"]
    assert raw["body"] == {"order": {"@id": "7", "line": {"@sku": "A-1", "#text": "2"}, "note": "ok & done"}}
    assert raw["headers"]["set-cookie"] == "••••••••"
    assert execution.output["mapped"] == {"sku": "A-1"}


def test_a_response_over_the_size_cap_fails_the_step(publish, start, http_connector, api_server):
    api_server.state.big_bytes = 5000
    connector = http_connector({"max_response_bytes": 2048})
    version = publish(graph([http_step("a", connector, "GET /big")]))
    execution = engine.run(start(version).pk)
    assert "larger than the size cap of 2048 bytes" in StepRun.objects.get(execution=execution).error


def test_a_bad_instruction_is_refused_when_the_flow_is_saved(org, owner, http_connector):
    from flows import versions
    from flows.models import Flow

    connector = http_connector()
    flow = Flow.objects.create(organization=org, name="Bad", slug="bad")
    problems = versions.save_draft(flow, graph([http_step("a", connector, "GET /x\nnot a header")]), owner)
    assert [(p.step, p.field, p.line, p.column) for p in problems] == [("a", "instruction", 2, 1)]
    assert "expected a header" in problems[0].message


@pytest.mark.parametrize(
    "body",
    [b'{"amount": 1e400}', b'{"n": NaN}', b"[" * 100_000 + b"]" * 100_000],
    ids=["number out of range", "NaN", "nested 100,000 deep"],
)
def test_a_json_response_erpflow_cannot_store_is_kept_as_text(publish, start, http_connector, api_server, api, body):
    api_server.state.raw_json = body
    version = publish(graph([http_step("a", http_connector({}), "GET /raw-json")]))
    execution = engine.run(start(version, {}).pk)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    detail = api.get(f"/api/v1/executions/{execution.pk}/")
    assert detail.status_code == 200
    assert detail.json()["steps"][0]["output"]["body"] == body.decode()


def test_a_retry_policy_tries_a_503_again_honouring_retry_after_and_records_each_attempt(
    publish, start, http_connector, api_server
):
    api_server.state.retry_after = "1"
    retry = {"max_attempts": 4, "initial_ms": 50, "jitter": 0}
    version = publish(graph([http_step("a", http_connector(), "GET /flaky/2", retry=retry)]))
    execution = engine.run(start(version).pk)

    assert execution.status == Execution.Status.SUCCEEDED, execution.error
    assert execution.output["body"] == {"ok": True, "call": 3}
    attempts = list(StepRun.objects.filter(execution=execution).order_by("attempt"))
    assert [(r.attempt, r.status) for r in attempts] == [(1, "retrying"), (2, "retrying"), (3, "succeeded")]
    assert [r.wait_ms for r in attempts[:2]] == [1000, 1000], "Retry-After asked for longer than the policy"
    assert all("answered 503" in r.error for r in attempts[:2])
    assert (attempts[1].started - attempts[0].finished).total_seconds() >= 1
    assert api_server.state.status_calls == 3


def test_a_status_the_policy_does_not_name_is_not_retried(publish, start, http_connector, api_server):
    retry = {"max_attempts": 4, "initial_ms": 10, "on": {"http_status": [429]}}
    version = publish(graph([http_step("a", http_connector(), "GET /flaky/2", retry=retry)]))
    execution = engine.run(start(version).pk)
    assert execution.status == Execution.Status.FAILED
    assert api_server.state.status_calls == 1
