"""The flow page's canvas as integration engineers expect it (issue 19, "Canvas"), in Chromium at 1280x800 and
1920x1080: the editor fills the window below the top bar without a page scroll, the toolbar is one grouped
line, the step panel sits beside the canvas, feedback appears as toasts under the toolbar and problems in a
panel that selects their step, a click shows a step's data and a double-click its form, sample data gives
the properties typed fields before any run, a run without a payload uses the sample, icons are SVG, `?`
lists the shortcuts, and the webhook URL has a copy button. Screenshots go to ``ERPFLOW_SHOTS`` (default
/tmp/shots-e) for a person to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from connectors import demo
from flows import webhooks
from flows.models import Execution, Flow
from tests.browser.test_flow_editor import Runner, node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ERPFLOW_SHOTS") or "/tmp/shots-e")
SIZES = [(1280, 800), (1920, 1080)]
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2190-\u21ff\u2b00-\u2bff]")
SAMPLE = '{"customer": {"code": "C-1000"}, "lines": [{"sku": "A-1", "qty": 2}], "rush": true}'


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.screenshot(path=str(SHOTS / f"{name}-{size['width']}x{size['height']}.png"))


def box(page, selector: str) -> dict:
    return page.locator(selector).first.bounding_box()


def overlaps(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def in_viewport(page, selector: str) -> None:
    found = box(page, selector)
    size = page.viewport_size
    assert found and found["x"] >= 0 and found["y"] >= 0, f"{selector} starts outside the window: {found}"
    assert found["x"] + found["width"] <= size["width"] and found["y"] + found["height"] <= size["height"], (
        f"{selector} ends outside the window: {found} in {size}"
    )


def check_layout(page) -> None:
    """No page scroll, the toolbar on one line, palette | canvas | panel side by side and inside the window."""
    sizes = page.evaluate("[document.documentElement.scrollHeight, window.innerHeight, document.body.scrollHeight]")
    assert sizes[0] <= sizes[1] and sizes[2] <= sizes[1], f"the page scrolls: {sizes}"
    toolbar = box(page, ".toolbar")
    middles = page.eval_on_selector_all(
        ".toolbar > *:not(.popover):not(section)",
        "els => els.map(e => e.getBoundingClientRect()).filter(r => r.height).map(r => r.top + r.height / 2)",
    )
    assert max(middles) - min(middles) < 4, f"the toolbar wraps: middles at {middles}"
    assert toolbar["height"] < 48, f"the toolbar is {toolbar['height']} px high"
    in_viewport(page, ".toolbar")
    in_viewport(page, ".editor-shell")
    palette, canvas = box(page, ".palette"), box(page, ".canvas")
    assert palette["x"] + palette["width"] <= canvas["x"] + 1
    if page.locator(".side-panel").count():
        panel = box(page, ".side-panel")
        assert canvas["x"] + canvas["width"] <= panel["x"] + 1, "the step panel covers the canvas"
        in_viewport(page, ".side-panel")
    for selector in (".toasts", ".problems-panel", ".run-status"):
        if page.locator(selector).count():
            in_viewport(page, selector)


@pytest.fixture
def order_flow(org, owner, sandbox):
    """Customers (the demo database) then Label (a mapping), saved and never run, with a sandbox webhook."""
    connector = demo.build(org, owner)
    flow = Flow.objects.create(
        organization=org,
        name="Order check",
        slug="order-check",
        draft={
            "steps": [
                {
                    "id": "step-1",
                    "kind": "connector",
                    "name": "Customers",
                    "connector": connector.pk,
                    "timeout_ms": 3000,
                    "instruction": "SELECT code, name FROM customers WHERE code = 'C-1000'",
                    "position": {"x": 0, "y": 0},
                },
                {
                    "id": "step-2",
                    "kind": "mapping",
                    "name": "Label",
                    "instruction": "{}",
                    "timeout_ms": 3000,
                    "position": {"x": 0, "y": 160},
                },
            ],
            "edges": [{"source": "step-1", "target": "step-2"}],
        },
    )
    webhooks.create(flow, sandbox)
    return flow


def open_editor(page, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/flows/order-check/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()
    node(page, "step-1").get_by_text("Customers").first.wait_for()


def layout_and_chrome(page) -> None:
    for width, height in SIZES:
        open_editor(page, width, height)
        check_layout(page)
        shoot(page, "canvas")
        text = page.locator(".editor-shell").inner_text()
        assert not EMOJI.search(text), f"emoji glyphs in the editor: {EMOJI.findall(text)}"
        assert page.locator(".toolbar svg").count() >= 8, "the toolbar's icons are inline SVG"
        groups = page.locator(".toolbar [role=group]")
        assert [groups.nth(i).get_attribute("aria-label") for i in range(groups.count())] == ["Edit", "Release", "Run"]

        # The help lists the shortcuts, opened by the ? key and by its button.
        page.locator(".react-flow__pane").click()
        page.keyboard.press("?")
        help_box = page.get_by_role("dialog", name="Keyboard shortcuts")
        assert "Ctrl+Z" in help_box.inner_text() and "Double-click a step" in help_box.inner_text()
        in_viewport(page, ".help-popover")
        shoot(page, "help")
        page.keyboard.press("Escape")
        help_box.wait_for(state="detached")

        # Full screen covers the top bar; Escape (or the button) brings the page back.
        page.get_by_role("button", name="Full screen").click()
        assert box(page, ".editor-shell")["y"] == 0 and box(page, ".editor-shell")["height"] == height
        shoot(page, "fullscreen")
        page.get_by_role("button", name="Leave full screen").click()
        assert box(page, ".editor-shell")["y"] > 30

        # The raw JSON forms are in the Advanced dialog, not under the canvas.
        assert not page.locator("#draft").is_visible()
        page.get_by_role("button", name="Advanced", exact=True).click()
        page.get_by_label("Draft graph (JSON)").wait_for()
        shoot(page, "advanced")
        page.get_by_role("button", name="Close the advanced forms").click()
        assert not page.get_by_label("Draft graph (JSON)").is_visible()

    # The other parts of the flow are tabs in place of the canvas; the webhook URL has a copy button.
    page.get_by_role("link", name="Environments & webhooks").click()
    assert not page.locator(".editor-shell").is_visible()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    url = page.locator(".hook-url").first.inner_text()
    page.get_by_role("button", name="Copy the webhook URL of Sandbox").click()
    page.get_by_role("button", name="Copy the webhook URL of Sandbox").get_by_text("Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == url
    shoot(page, "webhooks")
    page.get_by_role("link", name="Canvas").click()
    page.locator(".editor-shell").wait_for()


def test_the_editor_fills_the_window_with_one_line_of_grouped_tools(chromium, owner, order_flow):
    chromium(owner, layout_and_chrome)


def feedback_and_panels(page) -> None:
    open_editor(page, 1280, 800)
    # Save: a toast right under the toolbar.
    node(page, "step-2").dblclick()
    page.get_by_label("Mapping (JSONata)").fill("")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Save draft").click()
    toast = page.locator(".toast-error")
    toast.wait_for()
    assert "listed in the Problems panel at the top left of the canvas" in toast.inner_text()
    assert box(page, ".toasts")["y"] - (box(page, ".toolbar")["y"] + box(page, ".toolbar")["height"]) < 20
    check_layout(page)
    shoot(page, "problems")
    # A problem's step name selects the step and opens its settings.
    page.locator(".problems-panel").get_by_role("button", name="Label").click()
    page.get_by_role("form", name="Step form: Label").wait_for()
    assert "selected" in node(page, "step-2").locator(".step-node").get_attribute("class")
    page.get_by_label("Mapping (JSONata)").fill('{"label": steps.customers.rows[0].name}')
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Save draft").click()
    page.locator(".toast-ok").get_by_text("Saved the draft.").wait_for()
    page.get_by_role("button", name="Validate").click()
    page.locator(".toast-ok").get_by_text("No problems").wait_for()

    # Run with a payload; the run status box stays clear of the minimap.
    page.get_by_role("button", name="Run…").click()
    page.get_by_label("Test payload (JSON)").fill('{"customer": "C-1000"}')
    page.get_by_role("form", name="Run in sandbox").get_by_role("button", name="Run in sandbox").click()
    node(page, "step-2").locator(".status-chip.status-succeeded").wait_for()
    page.locator(".run-status").get_by_text("succeeded").wait_for()
    assert not overlaps(box(page, ".run-status"), box(page, ".react-flow__minimap"))

    # A click shows the step's data from that run; the panel is beside the canvas.
    node(page, "step-2").click()
    data = page.get_by_role("region", name="Run of Label")
    for heading in ("Input properties", "Instruction as sent", "Parameters", "Output"):
        data.get_by_role("heading", name=heading, exact=True).wait_for()
    assert "C-1000" in data.inner_text(), "the input shows what the upstream step returned"
    check_layout(page)
    shoot(page, "step-data")
    # Pinning the run's output makes it the step's sample; double-click edits.
    node(page, "step-1").click()
    page.get_by_role("button", name="Pin this output as the sample").click()
    node(page, "step-1").get_by_text("sample output").wait_for()
    node(page, "step-1").dblclick()
    page.get_by_role("form", name="Step form: Customers").wait_for()
    assert "C-1000" in page.get_by_label("Sample output (JSON, optional)").input_value()


def test_feedback_is_in_view_and_a_click_shows_a_steps_data(chromium, owner, order_flow):
    with Runner(order_flow.slug):
        chromium(owner, feedback_and_panels)
    order_flow.refresh_from_db()
    assert order_flow.draft["steps"][1]["instruction"] == '{"label": steps.customers.rows[0].name}'


def samples_before_any_run(page) -> None:
    open_editor(page, 1280, 800)
    page.get_by_role("button", name="Sample…").click()
    page.get_by_label("JSON document").fill('{"rows": [' + ",".join(['{"code": "C-1000"}'] * 5000) + "]}")
    page.get_by_role("button", name="Use this sample").click()
    assert "a sample may have at most 65,536" in page.get_by_role("alert").filter(has_text="sample").inner_text()
    page.get_by_label("JSON document").fill(SAMPLE)
    page.get_by_role("button", name="Use this sample").click()
    page.locator(".toast-ok").get_by_text("Sample payload set").wait_for()

    node(page, "step-2").dblclick()
    tree = page.locator(".properties")
    tree.get_by_text("Trigger (sample)").wait_for()
    qty = tree.get_by_role("button", name="trigger.payload.lines[0].qty")
    assert "number" in qty.inner_text()
    assert "boolean" in tree.get_by_role("button", name="trigger.payload.rush").inner_text()
    instruction = page.locator("#step-instruction")
    instruction.fill("")
    qty.click()
    page.wait_for_function("document.activeElement && document.activeElement.id === 'step-instruction'")
    assert instruction.input_value() == "{{ trigger.payload.lines[0].qty }}"
    instruction.fill("{'qty': trigger.payload.lines[0].qty}")
    check_layout(page)
    shoot(page, "sample-properties")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("button", name="Save draft").click()
    page.locator(".toast-ok").get_by_text("Saved the draft.").wait_for()

    # A run with the payload left empty uses the sample.
    page.get_by_role("button", name="Run…").click()
    assert "uses the sample payload" in page.get_by_role("form", name="Run in sandbox").inner_text()
    page.get_by_role("form", name="Run in sandbox").get_by_role("button", name="Run in sandbox").click()
    node(page, "step-2").locator(".status-chip.status-succeeded").wait_for()


def test_sample_data_gives_typed_fields_before_any_run_and_feeds_a_run(chromium, owner, order_flow):
    with Runner(order_flow.slug):
        chromium(owner, samples_before_any_run)
    order_flow.refresh_from_db()
    assert order_flow.draft["sample"] == {"format": "json", "text": SAMPLE}
    execution = Execution.objects.get(flow=order_flow)
    assert execution.input["payload"]["lines"] == [{"sku": "A-1", "qty": 2}]
    assert execution.output == {"qty": 2}
