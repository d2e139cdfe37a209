"""Sample payloads in Chromium at 1280x800: an XML document pasted in the sample popover gives the properties
tree its fields with their types (as the server reads XML: attributes as ``@name``, a repeated element as a
list), the input of an earlier execution does the same, and the full-page "Run the draft" form left empty
runs with the draft's sample, as the API's run does.
Screenshots go to ``ERPFLOW_SHOTS`` (default /tmp/shots-h) for a person to look at.
"""

from __future__ import annotations

import pytest

from flows import engine, triggers
from flows.models import Execution, Flow
from tests.browser.test_editor_flow_control import mapping, open_editor, shoot
from tests.browser.test_flow_editor import node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ORDER_XML = '<order id="7"><customer>C-1000</customer><line><sku>A-1</sku></line><line><sku>B-2</sku></line></order>'


@pytest.fixture
def label_flow(org):
    return Flow.objects.create(
        organization=org,
        name="Label",
        slug="label",
        draft={"steps": [mapping("step-1", "Label", "{}", 0, 0)], "edges": []},
    )


def field(page, path: str):
    """The tree's entry for ``path`` (its name also holds the type and an example)."""
    return page.locator(".properties button.property").filter(has=page.get_by_text(path, exact=True))


def paste_an_xml_sample(page) -> None:
    open_editor(page, "label")
    page.get_by_role("button", name="Sample…").click()
    page.get_by_label("XML").check()
    page.get_by_label("XML document").fill("<order><customer>")
    page.get_by_role("button", name="Use this sample").click()
    assert "not well-formed XML" in page.get_by_role("alert").filter(has_text="XML").inner_text()
    page.get_by_label("XML document").fill(ORDER_XML)
    page.get_by_role("button", name="Use this sample").click()
    page.locator(".toast-ok").get_by_text("Sample payload set").wait_for()
    node(page, "step-1").dblclick()
    page.locator(".properties").get_by_text("Trigger (sample)").wait_for()
    assert "string" in field(page, 'trigger.payload.order["@id"]').inner_text()
    assert "string" in field(page, "trigger.payload.order.customer").inner_text()
    assert "array" in field(page, "trigger.payload.order.line").inner_text()
    assert "string" in field(page, "trigger.payload.order.line[0].sku").inner_text()
    field(page, "trigger.payload.order.line[0].sku").scroll_into_view_if_needed()
    shoot(page, "sample-xml")
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved the draft.").first.wait_for()


def test_an_xml_sample_gives_the_properties_typed_fields(chromium, owner, label_flow):
    chromium(owner, paste_an_xml_sample)
    label_flow.refresh_from_db()
    assert label_flow.draft["sample"] == {"format": "xml", "text": ORDER_XML}


def use_the_input_of_an_execution(number: int):
    def actions(page) -> None:
        open_editor(page, "label")
        page.get_by_role("button", name="Sample…").click()
        page.get_by_label("Input of an execution").check()
        page.get_by_label("Execution number").fill("999999")
        page.get_by_role("button", name="Use this sample").click()
        assert "Execution #999999" in page.get_by_role("alert").filter(has_text="999999").inner_text()
        page.get_by_label("Execution number").fill(str(number))
        page.get_by_role("button", name="Use this sample").click()
        page.locator(".toast-ok").get_by_text("Sample payload set").wait_for()
        node(page, "step-1").dblclick()
        page.locator(".properties").get_by_text("Trigger (sample)").wait_for()
        assert "string" in field(page, "trigger.payload.customer.code").inner_text()
        assert "number" in field(page, "trigger.payload.qty").inner_text()
        field(page, "trigger.payload.qty").scroll_into_view_if_needed()
        shoot(page, "sample-execution")

    return actions


def test_the_input_of_an_earlier_execution_becomes_the_sample(chromium, owner, label_flow):
    execution = triggers.run_draft(label_flow, owner, {"customer": {"code": "C-7"}, "qty": 3})
    engine.run(execution.pk)
    chromium(owner, use_the_input_of_an_execution(execution.pk))


@pytest.fixture
def sampled_flow(org):
    return Flow.objects.create(
        organization=org,
        name="Sampled",
        slug="sampled",
        draft={
            "steps": [mapping("step-1", "Echo", "trigger.payload", 0, 0)],
            "edges": [],
            "sample": {"format": "json", "text": '{"customer": "Ada"}'},
        },
    )


def run_from_the_page_form(page) -> None:
    page.goto("/flows/sampled/")
    page.get_by_role("button", name="Advanced", exact=True).click()
    form = page.locator("#run")
    assert "Leave the payload empty to run with the draft's sample payload." in form.inner_text()
    page.get_by_label("Test payload").fill("")
    form.get_by_role("button", name="Run in sandbox").click()
    page.wait_for_url("**/executions/*/")


def test_the_page_run_form_left_empty_runs_with_the_sample(chromium, owner, sampled_flow):
    chromium(owner, run_from_the_page_form)
    execution = Execution.objects.get(flow=sampled_flow)
    assert execution.input["payload"] == {"customer": "Ada"}
