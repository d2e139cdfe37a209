"""What the canvas editor and the monitoring page ask the API beyond the flows API: instruction checks at line
and column for any registered language, graph validation without saving, executions over time and step figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import Environment
from flows import versions
from flows.models import Execution, Flow, StepRun

pytestmark = pytest.mark.django_db

CHECK = "/api/v1/instructions/check/"
GREET = {
    "steps": [
        {"id": "a", "kind": "mapping", "name": "Greet", "instruction": '{"hi": 1}', "position": {"x": 0, "y": 0}},
        {
            "id": "b",
            "kind": "mapping",
            "name": "Answer",
            "instruction": "steps.greet.hi",
            "position": {"x": 0, "y": 100},
        },
    ],
    "edges": [{"source": "a", "target": "b"}],
}


@pytest.fixture
def flow(org, owner) -> Flow:
    flow = Flow.objects.create(organization=org, name="Greeting", slug="greeting")
    assert versions.save_draft(flow, GREET, owner) == []
    return flow


class TestInstructionCheck:
    def test_it_points_at_the_line_and_column_of_an_sql_problem(self, api):
        response = api.post(CHECK, {"language": "sql", "text": "SELECT 1\nWHERE name = 'open"}, format="json")
        assert response.status_code == 200
        [problem] = response.json()["problems"]
        assert (problem["line"], problem["column"]) == (2, 14)
        assert "never closed" in problem["message"] or "not closed" in problem["message"]

    def test_a_clean_instruction_has_no_problems(self, api):
        response = api.post(CHECK, {"language": "sql", "text": "SELECT {{ trigger.payload.id }}"}, format="json")
        assert response.json() == {"language": "sql", "problems": []}

    def test_every_registered_language_is_checked(self, api):
        import instructions

        for language in instructions.languages():
            response = api.post(CHECK, {"language": language, "text": ""}, format="json")
            assert response.status_code == 200, language
            assert response.json()["problems"], f"an empty {language} instruction is a problem"

    def test_mapping_expressions_are_checked_as_jsonata(self, api):
        response = api.post(CHECK, {"language": "jsonata", "text": '{"a": 1'}, format="json")
        [problem] = response.json()["problems"]
        assert problem["line"] == 1 and "JSONata" in problem["message"]

    def test_an_unknown_language_is_refused_with_the_known_ones(self, api):
        response = api.post(CHECK, {"language": "cobol", "text": "x"}, format="json")
        assert response.status_code == 400
        message = response.json()["errors"]["language"][0]
        assert "cobol" in message and "sql" in message and "jsonata" in message

    def test_a_viewer_may_check_since_nothing_is_stored(self, viewer_api):
        assert viewer_api.post(CHECK, {"language": "sql", "text": "SELECT 1"}, format="json").status_code == 200


class TestValidate:
    def test_it_lists_every_problem_by_step_and_saves_nothing(self, api, flow):
        cyclic = {**GREET, "edges": [*GREET["edges"], {"source": "b", "target": "a"}]}
        cyclic["steps"] = [{**GREET["steps"][0], "timeout_ms": 70000}, GREET["steps"][1]]
        response = api.post(f"/api/v1/flows/{flow.slug}/validate/", cyclic, format="json")
        assert response.status_code == 200
        body = response.json()
        assert body["valid"] is False
        messages = {(p["step"], p["field"]) for p in body["problems"]}
        assert ("a", "timeout_ms") in messages and ("a", "edges") in messages
        flow.refresh_from_db()
        assert flow.draft["edges"] == GREET["edges"], "validating saved nothing"

    def test_an_empty_body_validates_the_saved_draft(self, api, flow):
        assert api.post(f"/api/v1/flows/{flow.slug}/validate/", {}, format="json").json() == {
            "valid": True,
            "problems": [],
        }

    def test_another_organizations_flow_is_not_found(self, outsider_api, flow):
        assert outsider_api.post(f"/api/v1/flows/{flow.slug}/validate/", GREET, format="json").status_code == 404


def _execution(flow: Flow, status: str, created, steps: list[tuple[str, str, float]]) -> Execution:
    version = versions.snapshot_draft(flow, None)
    execution = Execution.objects.create(
        organization=flow.organization,
        flow=flow,
        version=version,
        environment=Environment.objects.get(organization=flow.organization, slug="sandbox"),
        trigger=Execution.Trigger.API,
        status=status,
        input={"payload": {}},
    )
    Execution.objects.filter(pk=execution.pk).update(created=created)
    for position, (name, step_status, duration) in enumerate(steps):
        StepRun.objects.create(
            execution=execution,
            position=position,
            step_id=name.lower(),
            name=name,
            status=step_status,
            started=created,
            finished=created + timedelta(milliseconds=duration),
            duration_ms=duration,
        )
    return execution


class TestMonitoringFigures:
    def test_executions_are_counted_by_status_in_slices_of_the_range(self, api, flow):
        now = timezone.now().replace(microsecond=0)
        _execution(flow, "succeeded", now - timedelta(hours=23, minutes=50), [])
        _execution(flow, "failed", now - timedelta(minutes=10), [])
        _execution(flow, "failed", now - timedelta(minutes=5), [])
        _execution(flow, "failed", now - timedelta(hours=30), [])  # outside the range
        since, until = (now - timedelta(hours=24)).isoformat(), now.isoformat()
        body = api.get("/api/v1/monitoring/timeline", {"since": since, "until": until}).json()
        assert len(body["starts"]) == 48 and body["bucket_seconds"] == 1800
        assert body["counts"]["succeeded"][0] == 1 and sum(body["counts"]["succeeded"]) == 1
        assert body["counts"]["failed"][47] == 2 and sum(body["counts"]["failed"]) == 2

    def test_the_slowest_and_most_failing_steps_are_ranked(self, api, flow):
        now = timezone.now()
        _execution(flow, "failed", now, [("Greet", "succeeded", 5), ("Answer", "failed", 50)])
        _execution(flow, "succeeded", now, [("Greet", "succeeded", 7), ("Answer", "succeeded", 30)])
        body = api.get("/api/v1/monitoring/steps").json()
        assert [s["name"] for s in body["slowest"]] == ["Answer", "Greet"]
        assert body["slowest"][0]["p95_ms"] == pytest.approx(49.0)
        assert body["failing"] == [
            {
                "name": "Answer",
                "runs": 2,
                "failures": 1,
                "flow": {"id": flow.pk, "slug": "greeting", "name": "Greeting"},
                "p50_ms": 40.0,
                "p95_ms": 49.0,
            }
        ]

    def test_another_organization_sees_none_of_it(self, outsider_api, flow):
        _execution(flow, "failed", timezone.now(), [("Answer", "failed", 50)])
        assert outsider_api.get("/api/v1/monitoring/steps").json()["failing"] == []
        assert sum(outsider_api.get("/api/v1/monitoring/timeline").json()["counts"]["failed"]) == 0


class TestPages:
    def test_the_flow_page_hosts_the_editor_with_what_the_member_may_do(self, session_client, flow):
        page = session_client.get(f"/flows/{flow.slug}/").content.decode()
        assert 'id="flow-editor"' in page and "editor/editor.js" in page
        assert '"canChange": true' in page and '"slug": "greeting"' in page

    def test_the_list_searches_and_shows_the_last_execution_status(self, session_client, flow, org):
        Flow.objects.create(organization=org, name="Invoices", slug="invoices")
        _execution(flow, "completed_with_errors", timezone.now(), [])
        page = session_client.get("/flows/", {"q": "greet"}).content.decode()
        assert "Greeting" in page and "Invoices" not in page
        assert "Completed with errors" in page or "completed with errors" in page.lower()
        assert "No flow matches" in session_client.get("/flows/", {"q": "zzz"}).content.decode()

    def test_the_monitoring_page_loads_its_charts_bundle(self, session_client, flow):
        page = session_client.get("/monitoring/").content.decode()
        assert "editor/monitoring.js" in page and '"slug": "greeting"' in page
