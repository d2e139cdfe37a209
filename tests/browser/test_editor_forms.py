"""The editor's forms and a for-each's body in Chromium at 1280x800: a call flow (the flow picker), a respond
(status, headers, body) and a delay (a pause in ms, then until a moment) created from the palette, filled
and saved, checked in the draft the API answers; and a step dragged out of a for-each's box leaves its
body, its edges to the body's steps going with a toast.
Screenshots go to ``ERPFLOW_SHOTS`` (default /tmp/shots-h) for a person to look at.
"""

from __future__ import annotations

import json

import pytest

from flows.models import Flow
from tests.browser.test_editor_flow_control import mapping, open_editor, save_draft, shoot
from tests.browser.test_flow_editor import edit_step, node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def empty_flow(org):
    Flow.objects.create(organization=org, name="Invoices", slug="invoices", draft={"steps": [], "edges": []})
    return Flow.objects.create(organization=org, name="Kinds", slug="kinds", draft={"steps": [], "edges": []})


def saved_steps(page) -> dict:
    """The draft as ``GET /api/v1/flows/kinds/draft/`` answers it, in the browser's session, once saved."""
    page.get_by_text("Unsaved changes").wait_for(state="hidden")
    answer = page.request.get("/api/v1/flows/kinds/draft/")
    assert answer.ok, answer.text()
    return {step["id"]: step for step in json.loads(answer.text())["graph"]["steps"]}


def fill_the_forms(called: int):
    return lambda page: fill_and_save(page, called)


def fill_and_save(page, called: int) -> None:
    open_editor(page, "kinds")
    pane = page.locator(".react-flow__pane")
    for kind, x in (("call_flow", 120), ("respond", 380), ("delay", 640)):
        page.get_by_test_id(f"palette-{kind}").drag_to(pane, target_position={"x": x, "y": 200})

    edit_step(page, "step-1")
    page.get_by_label("Flow to call").select_option(label="Invoices (invoices)")
    page.locator("#kind-payload").fill("{{ trigger.payload.invoice }}")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-1").get_by_text("Calls another flow").wait_for()

    edit_step(page, "step-2")
    page.get_by_label("HTTP status").fill("201")
    page.get_by_role("button", name="Add a header").click()
    page.get_by_label("Header 1 name").fill("X-Invoice")
    page.get_by_label("Header 1 value").fill("/invoices/{{ trigger.payload.invoice.id }}")
    page.get_by_label("Body").fill("{{ trigger.payload.invoice }}")
    shoot(page, "respond-form-filled")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-2").get_by_text("Answers 201").wait_for()

    edit_step(page, "step-3")
    page.get_by_label("Pause (ms)").fill("abc")
    assert page.get_by_role("button", name="Save", exact=True).is_disabled(), "a pause must be a number"
    page.get_by_label("Pause (ms)").fill("2500")
    shoot(page, "delay-form-filled")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-3").get_by_text("Waits 2500 ms").wait_for()
    save_draft(page)
    steps = saved_steps(page)
    assert steps["step-3"]["delay_ms"] == 2500 and steps["step-3"]["until"] == ""

    edit_step(page, "step-3")
    page.get_by_label("Until a moment").check()
    page.get_by_label("Wait until").fill("{{ trigger.payload.invoice.due }}")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-3").get_by_text("Until {{ trigger.payload.invoice.due }}").wait_for()
    save_draft(page)

    steps = saved_steps(page)
    assert steps["step-1"]["kind"] == "call_flow" and steps["step-1"]["wait"] is True
    assert steps["step-1"]["flow"] == called, "the flow picker stores the called flow's id"
    assert steps["step-1"]["payload"] == "{{ trigger.payload.invoice }}"
    assert steps["step-2"]["status"] == 201
    assert steps["step-2"]["headers"] == {"X-Invoice": "/invoices/{{ trigger.payload.invoice.id }}"}
    assert steps["step-2"]["body"] == "{{ trigger.payload.invoice }}"
    assert steps["step-3"]["delay_ms"] is None and steps["step-3"]["until"] == "{{ trigger.payload.invoice.due }}"


def test_call_flow_respond_and_delay_are_filled_and_saved_from_their_forms(chromium, owner, empty_flow):
    chromium(owner, fill_the_forms(Flow.objects.get(slug="invoices").pk))


@pytest.fixture
def loop_flow(org):
    """Numbers → Each number (a box at 0,130, 420x260) holding Double → Label."""
    return Flow.objects.create(
        organization=org,
        name="Loop",
        slug="loop",
        draft={
            "steps": [
                mapping("step-1", "Numbers", '{"numbers": [1, 2]}', 0, 0),
                {
                    "id": "step-2",
                    "kind": "foreach",
                    "name": "Each number",
                    "items": "{{ steps.numbers.numbers }}",
                    "timeout_ms": 3000,
                    "position": {"x": 0, "y": 130},
                    "size": {"width": 420, "height": 260},
                },
                mapping("step-3", "Double", "item * 2", 30, 190, group="step-2"),
                mapping("step-4", "Label", '"n"', 30, 300, group="step-2"),
            ],
            "edges": [{"source": "step-1", "target": "step-2"}, {"source": "step-3", "target": "step-4"}],
        },
    )


def drag_a_step_out_of_the_loop(page) -> None:
    open_editor(page, "loop")
    label, loop = node(page, "step-4"), node(page, "step-2").bounding_box()
    start = label.bounding_box()
    page.mouse.move(start["x"] + 30, start["y"] + 12)
    page.mouse.down()
    target = (loop["x"] + loop["width"] + 80, start["y"] + 12)
    page.mouse.move(*target, steps=12)
    page.mouse.up()
    page.locator(".toast-ok").get_by_text(
        "Label is now outside Each number; its 1 connection to steps inside the loop went."
    ).wait_for()
    moved = label.bounding_box()
    assert moved["x"] > loop["x"] + loop["width"], "the step stays where it was dropped, right of the box"
    assert page.locator('.react-flow__edge[data-testid="rf__edge-step-3->step-4"]').count() == 0
    page.mouse.click(640, 760)
    shoot(page, "step-out-of-loop")
    save_draft(page)


def test_a_step_dragged_out_of_a_for_each_leaves_its_body(chromium, owner, loop_flow):
    chromium(owner, drag_a_step_out_of_the_loop)
    loop_flow.refresh_from_db()
    steps = {step["id"]: step for step in loop_flow.draft["steps"]}
    assert "group" not in steps["step-4"] and steps["step-3"]["group"] == "step-2"
    assert steps["step-4"]["position"]["x"] > 420, "stored absolute, outside the box"
    assert loop_flow.draft["edges"] == [{"source": "step-1", "target": "step-2"}]
