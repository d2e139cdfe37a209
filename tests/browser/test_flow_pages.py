"""A flow without the canvas in Chromium: the draft as JSON (a bad one refused), a run from the form, the log."""

from __future__ import annotations

import json

import pytest

from flows import engine
from flows.models import Execution, Flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GREETING = {
    "steps": [
        {
            "id": "greet",
            "kind": "mapping",
            "name": "Greet",
            "instruction": '{"greeting": "Hello " & trigger.payload.customer}',
            "position": {"x": 0, "y": 0},
        },
        {
            "id": "check",
            "kind": "mapping",
            "name": "Check stock",
            "instruction": '$error("no stock for " & trigger.payload.customer)',
            "position": {"x": 0, "y": 100},
        },
    ],
    "edges": [{"source": "greet", "target": "check"}],
}


def create_and_run(page) -> None:
    page.goto("/")
    page.get_by_role("link", name="Flows", exact=True).first.click()
    page.get_by_text("No flows yet").wait_for()
    page.get_by_role("link", name="Create your first flow").click()
    page.get_by_label("Name").fill("Order sync")
    page.get_by_role("button", name="Create flow").click()
    page.wait_for_url("**/flows/order-sync/")

    page.get_by_role("button", name="Advanced", exact=True).click()
    cyclic = {**GREETING, "edges": [*GREETING["edges"], {"source": "check", "target": "greet"}]}
    page.get_by_label("Draft graph (JSON)").fill(json.dumps(cyclic))
    page.locator("#draft").get_by_role("button", name="Save draft").click()
    problems = page.locator("#problems")
    problems.wait_for()
    assert "cycle" in problems.inner_text()

    page.get_by_label("Draft graph (JSON)").fill(json.dumps(GREETING))
    page.locator("#draft").get_by_role("button", name="Save draft").click()
    page.locator('.react-flow__node[data-id="check"]').get_by_text("Check stock").wait_for()

    page.get_by_role("button", name="Advanced", exact=True).click()
    page.get_by_label("Test payload").fill('{"customer": "Ada"}')
    page.locator("#run").get_by_role("button", name="Run in sandbox").click()
    page.wait_for_url("**/executions/*/")


def read_the_log(page, execution_id: int) -> None:
    page.goto(f"/executions/{execution_id}/")
    assert "Failed at step Check stock" in page.get_by_role("alert").inner_text()
    greet, check = page.locator("li.run").all()
    assert "Succeeded" in greet.inner_text() and "Failed" in check.inner_text()
    assert "no stock for Ada" in check.locator(".step-error").inner_text()
    greet.get_by_text("Output").click()
    assert "Hello Ada" in greet.locator("pre").last.inner_text(), "a step's output opens on a click"


def test_create_save_run_and_read_the_execution_of_a_flow(chromium, owner, org):
    chromium(owner, create_and_run)
    flow = Flow.objects.get(organization=org, slug="order-sync")
    assert [step["name"] for step in flow.draft["steps"]] == ["Greet", "Check stock"], "the valid draft was saved"
    execution = Execution.objects.get(flow=flow)
    assert (execution.trigger, execution.environment.slug) == ("manual", "sandbox")
    engine.run(execution.pk)  # what a worker does with the queued execution
    chromium(owner, lambda page: read_the_log(page, execution.pk))


def test_deploy_from_the_canvas_uses_the_environment_the_form_shows(chromium, owner, org):
    from flows import versions
    from flows.models import Deployment

    flow = Flow.objects.create(organization=org, name="Order sync", slug="order-sync")
    assert versions.save_draft(flow, GREETING, owner) == []
    versions.publish(flow, owner, "first")

    def deploy(page) -> None:
        page.goto("/flows/order-sync/")
        page.locator('.editor-shell[data-ready="true"]').wait_for()
        page.get_by_role("button", name="Deploy…").click()
        shown = page.locator("#deploy-environment").input_value()
        assert shown == "sandbox", shown
        page.get_by_role("button", name="Deploy latest version").click()
        page.get_by_text("now runs in sandbox").wait_for()

    chromium(owner, deploy)
    assert Deployment.objects.get(flow=flow).environment.slug == "sandbox"
