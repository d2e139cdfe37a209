"""The editor's flow-control steps in Chromium at 1280x800 (issue 15 "Editor", issue 16's sync form): a router
whose branches are set on their edges, a respond and a delay from the palette with their forms, a for-each
box the steps dropped into it join (its body's edges stay inside), a retry policy, a run that shows the
branch taken, the skipped step dimmed with its reason and the loop's progress, the execution page with the
loop's items; and the sync step's form over the demo database's live schema with a preview of the rows.
Screenshots go to ``ERPFLOW_SHOTS`` (default /tmp/shots-h) for a person to look at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from connectors import demo
from flows.models import Execution, Flow
from tests.browser.test_flow_editor import Runner, edit_step, node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ERPFLOW_SHOTS") or "/tmp/shots-h")
ORDERS = '{"orders": [{"n": 1}, {"n": 0}, {"n": 3}], "total": 5000}'


@pytest.fixture(autouse=True)
def unlimited(settings):
    """Run-and-watch polls and the forms ask the API as they are typed: no rate limit in the way."""
    settings.ERPFLOW_RATE_LIMIT_ORGANIZATION = 10**6


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-1280x800.png"))


def mapping(step_id: str, name: str, instruction: str, x: int, y: int, **extra) -> dict:
    return {
        "id": step_id,
        "kind": "mapping",
        "name": name,
        "instruction": instruction,
        "timeout_ms": 3000,
        "position": {"x": x, "y": y},
        **extra,
    }


def open_editor(page, slug: str) -> None:
    page.goto(f"/flows/{slug}/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()


def connect(page, source: str, target: str) -> None:
    node(page, source).locator(".react-flow__handle.source").first.drag_to(
        node(page, target).locator(".react-flow__handle.target").first
    )


def wait_for_the_view_to_settle(page) -> None:
    """Arrange fits the view with a 200 ms animation: a click on a label that is still moving can land
    beside it (the button is found, then moved before the press), so wait until two looks 150 ms apart
    see the same viewport transform."""
    page.evaluate("() => { window.__lastViewport = null; }")
    page.wait_for_function(
        """() => {
            const now = document.querySelector('.react-flow__viewport').style.transform;
            const same = window.__lastViewport === now;
            window.__lastViewport = now;
            return same;
        }""",
        polling=150,
    )


def save_draft(page) -> None:
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved the draft.").first.wait_for()


@pytest.fixture
def router_flow(org):
    return Flow.objects.create(
        organization=org,
        name="Route orders",
        slug="route-orders",
        draft={"steps": [mapping("step-1", "Orders", ORDERS, 0, 0)], "edges": []},
    )


def draw_a_router(page) -> None:
    open_editor(page, "route-orders")
    pane = page.locator(".react-flow__pane")
    assert page.get_by_role("heading", name="Flow control").count() == 1, "the palette groups the new kinds"
    for kind in ("condition", "foreach", "call_flow", "respond", "delay"):
        assert page.get_by_test_id(f"palette-{kind}").count() == 1, f"{kind} is in the palette"
    # Orders sits in the middle (the view fits it): the new steps go around it, then Arrange lays them out.
    page.get_by_test_id("palette-condition").drag_to(pane, target_position={"x": 200, "y": 110})
    page.get_by_test_id("palette-respond").drag_to(pane, target_position={"x": 200, "y": 470})
    page.get_by_test_id("palette-delay").drag_to(pane, target_position={"x": 760, "y": 110})
    node(page, "step-4").get_by_text("Waits 1000 ms").wait_for()
    connect(page, "step-1", "step-2")
    connect(page, "step-2", "step-3")
    connect(page, "step-2", "step-4")
    page.get_by_role("button", name="Arrange the steps in run order").click()
    wait_for_the_view_to_settle(page)
    labels = page.locator(".branch-label")
    labels.nth(1).wait_for()
    assert labels.all_inner_texts() == ["set a condition", "set a condition"], "a router's new edges ask for conditions"

    page.locator('.branch-label[data-edge="step-2->step-3"]').click()
    form = page.get_by_role("form", name="Branch from Condition to Respond")
    form.get_by_label("Condition").fill("")
    assert form.get_by_role("button", name="Save").is_disabled(), "a branch needs a condition or otherwise"
    form.get_by_label("Condition").fill("{{ steps.orders.total > 1000 }}")
    form.get_by_label("Order").fill("1")
    form.get_by_label("Label").fill("Over the limit")
    form.get_by_role("button", name="Save").click()
    page.locator('.branch-label[data-edge="step-2->step-3"]').get_by_text("1 · Over the limit").wait_for()
    page.locator('.branch-label[data-edge="step-2->step-4"]').click()
    page.get_by_label("Otherwise (taken when no other branch is)").check()
    page.get_by_role("form", name="Branch from Condition to Delay").get_by_role("button", name="Save").click()
    page.locator('.branch-label[data-edge="step-2->step-4"]').get_by_text("otherwise").wait_for()

    edit_step(page, "step-3")
    page.get_by_label("HTTP status").fill("99")
    page.get_by_text("HTTP status must be from 200 to 599 (it is 99).").wait_for()
    page.get_by_label("HTTP status").fill("202")
    page.get_by_role("button", name="Add a header").click()
    page.get_by_label("Header 1 name").fill("X-Route")
    page.get_by_label("Header 1 value").fill("{{ steps.orders.total }}")
    page.get_by_label("Body").fill("{{ steps.orders }}")
    assert page.locator("#step-instruction").count() == 0, "a respond step has no instruction"
    assert page.get_by_label("Try again when it fails").count() == 0, "a respond step has no retry policy"
    shoot(page, "respond-form")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-3").get_by_text("Answers 202").wait_for()

    edit_step(page, "step-4")
    page.get_by_label("Until a moment").check()
    page.get_by_label("Wait until").fill("{{ trigger.payload.due }}")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-4").get_by_text("Until {{ trigger.payload.due }}").wait_for()

    page.get_by_test_id("palette-call_flow").click()
    edit_step(page, "step-5")
    page.get_by_text("Choose the flow to call.").wait_for()
    page.get_by_label("Flow to call").select_option(label="Route orders (route-orders)")
    page.get_by_label("Wait for the result").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-5").get_by_text("Calls another flow").wait_for()

    edit_step(page, "step-1")
    page.get_by_label("Try again when it fails").check()
    page.get_by_label("Attempts").fill("11")
    page.get_by_text("Attempts must be a whole number from 2 to 10.").wait_for()
    assert page.get_by_role("button", name="Save", exact=True).is_disabled()
    page.get_by_label("Attempts").fill("4")
    page.get_by_label("HTTP statuses").fill("503, 504")
    page.get_by_text("Waits before the retries: 1000 ms, 2000 ms, 4000 ms").wait_for()
    shoot(page, "retry-form")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-1").get_by_text("4 attempts").wait_for()
    shoot(page, "router-canvas")
    save_draft(page)


def test_a_router_its_branches_and_the_new_kinds_are_set_in_the_canvas(chromium, owner, org, router_flow):
    chromium(owner, draw_a_router)
    router_flow.refresh_from_db()
    steps = {step["id"]: step for step in router_flow.draft["steps"]}
    assert steps["step-2"]["kind"] == "condition" and steps["step-2"]["mode"] == "first"
    assert steps["step-3"]["status"] == 202 and steps["step-3"]["headers"] == {"X-Route": "{{ steps.orders.total }}"}
    assert steps["step-3"]["body"] == "{{ steps.orders }}"
    assert steps["step-4"]["delay_ms"] is None and steps["step-4"]["until"] == "{{ trigger.payload.due }}"
    assert steps["step-5"]["flow"] == router_flow.pk and steps["step-5"]["wait"] is False
    assert steps["step-5"]["payload"] == "{{ trigger.payload }}"
    retry = steps["step-1"]["retry"]
    assert retry["max_attempts"] == 4 and retry["on"]["http_status"] == [503, 504]
    edges = {(e["source"], e["target"]): e for e in router_flow.draft["edges"]}
    assert edges[("step-2", "step-3")] == {
        "source": "step-2",
        "target": "step-3",
        "condition": "{{ steps.orders.total > 1000 }}",
        "order": 1,
        "label": "Over the limit",
    }
    assert edges[("step-2", "step-4")] == {"source": "step-2", "target": "step-4", "otherwise": True}


def fill_a_loop(page) -> None:
    open_editor(page, "loop-build")
    pane = page.locator(".react-flow__pane")
    page.get_by_test_id("palette-foreach").drag_to(pane, target_position={"x": 150, "y": 100})
    box = node(page, "step-1")
    box.get_by_text("Drop the steps to run for each item here.").wait_for()
    page.get_by_test_id("palette-mapping").drag_to(pane, target_position={"x": 300, "y": 230})
    node(page, "step-2").get_by_text("Mapping · JSONata").wait_for()
    assert box.get_by_text("Drop the steps").count() == 0, "the mapping joined the loop"
    page.get_by_test_id("palette-mapping").drag_to(pane, target_position={"x": 800, "y": 60})
    node(page, "step-3").get_by_text("Mapping · JSONata").wait_for()
    step_box, loop_box = node(page, "step-2").bounding_box(), box.bounding_box()
    assert loop_box["x"] < step_box["x"] and step_box["y"] + step_box["height"] < loop_box["y"] + loop_box["height"]
    connect(page, "step-3", "step-2")
    assert "inside the for-each" in page.locator(".hint").inner_text(), "the body's edges stay inside"
    connect(page, "step-3", "step-1")
    page.locator(".react-flow__edge").first.wait_for(state="attached")

    header = box.locator('.step-node[data-step="step-1"]')
    header.hover()
    header.locator("button[aria-label^='Edit']").click()
    page.get_by_text("Say which list to go through").wait_for()
    page.get_by_label("Items (the list to go through)").fill("{{ steps.mapping_2.orders }}")
    page.get_by_label("Batch size").fill("2")
    page.get_by_label("Continue when an item fails").check()
    page.get_by_role("button", name="Save", exact=True).click()
    box.get_by_text("For each · {{ steps.mapping_2.orders }}").wait_for()
    page.mouse.click(700, 700)
    shoot(page, "foreach-canvas")
    save_draft(page)


def test_steps_dropped_into_a_for_each_join_its_body(chromium, owner, org):
    flow = Flow.objects.create(organization=org, name="Loop build", slug="loop-build", draft={"steps": [], "edges": []})
    chromium(owner, fill_a_loop)
    flow.refresh_from_db()
    steps = {step["id"]: step for step in flow.draft["steps"]}
    assert steps["step-1"]["kind"] == "foreach" and steps["step-1"]["items"] == "{{ steps.mapping_2.orders }}"
    assert steps["step-1"]["batch_size"] == 2 and steps["step-1"]["continue_on_error"] is True
    assert steps["step-2"]["group"] == "step-1", "the dropped step is in the loop's body"
    assert "group" not in steps["step-3"]
    loop, body = steps["step-1"]["position"], steps["step-2"]["position"]
    assert loop["x"] < body["x"] < loop["x"] + steps["step-1"]["size"]["width"], "positions are stored absolute"
    assert flow.draft["edges"] == [{"source": "step-3", "target": "step-1"}]


@pytest.fixture
def looping_flow(org):
    """Orders → Route: over the limit, each order (one of three fails); otherwise, Small order (skipped)."""
    return Flow.objects.create(
        organization=org,
        name="Loop orders",
        slug="loop-orders",
        draft={
            "steps": [
                mapping("step-1", "Orders", ORDERS, 0, 0),
                {
                    "id": "step-2",
                    "kind": "condition",
                    "name": "Route",
                    "mode": "first",
                    "timeout_ms": 3000,
                    "position": {"x": 0, "y": 130},
                },
                {
                    "id": "step-3",
                    "kind": "foreach",
                    "name": "Each order",
                    "items": "{{ steps.orders.orders }}",
                    "continue_on_error": True,
                    "timeout_ms": 3000,
                    "position": {"x": -300, "y": 260},
                    "size": {"width": 300, "height": 250},
                },
                mapping(
                    "step-5",
                    "Double",
                    'item.n = 0 ? $error("order without a number") : item.n * 2',
                    -260,
                    390,
                    group="step-3",
                ),
                mapping("step-4", "Small order", '"small"', 200, 300),
            ],
            "edges": [
                {"source": "step-1", "target": "step-2"},
                {
                    "source": "step-2",
                    "target": "step-3",
                    "condition": "{{ steps.orders.total > 1000 }}",
                    "label": "Over the limit",
                    "order": 1,
                },
                {"source": "step-2", "target": "step-4", "otherwise": True},
            ],
        },
    )


def run_and_watch(page) -> None:
    open_editor(page, "loop-orders")
    page.get_by_role("button", name="Run…").click()
    page.get_by_label("Test payload (JSON)").fill("{}")
    page.get_by_role("form", name="Run in sandbox").get_by_role("button", name="Run in sandbox").click()
    skipped = node(page, "step-4")
    skipped.locator(".status-chip.status-skipped").wait_for()
    assert "branch 'otherwise' of step 'Route' not taken" in skipped.locator(".skip-reason").inner_text()
    assert "run-skipped" in skipped.locator(".step-node").get_attribute("class"), "a skipped step is dimmed"
    assert "branch-taken" in page.locator('.branch-label[data-edge="step-2->step-3"]').get_attribute("class")
    assert "branch-untaken" in page.locator('.branch-label[data-edge="step-2->step-4"]').get_attribute("class")
    node(page, "step-3").locator(".loop-progress").get_by_text("3 / 3, 1 failed").wait_for()
    assert "Each order: 3 / 3, 1 failed" in page.get_by_role("region", name="Run status").inner_text()
    assert "3 items, 1 failed" in node(page, "step-5").locator(".status-chip").inner_text()
    page.mouse.click(700, 700)
    shoot(page, "run-and-watch")

    page.get_by_role("region", name="Run status").get_by_role("link", name="Open").click()
    page.locator('[data-loop="step-3"]').get_by_text("3 / 3").wait_for()
    assert "1 failed" in page.locator('[data-loop="step-3"]').inner_text()
    items = page.locator(".loop-item")
    assert items.count() == 3, "one entry per item of the loop"
    failed = page.locator('.loop-item[data-item="1"]')
    assert "order without a number" in failed.locator(".step-error").inner_text(), "a failed item opens with its error"
    assert "Item 2" in failed.locator(":scope > details > summary").inner_text()
    assert "branch 'otherwise' of step 'Route' not taken" in page.locator(".skip-reason").first.inner_text()
    page.locator(".loop-items").scroll_into_view_if_needed()
    shoot(page, "execution-page")


def test_run_and_watch_shows_branches_skips_and_loop_progress(chromium, owner, org, looping_flow):
    with Runner(looping_flow.slug):
        chromium(owner, run_and_watch)
    execution = Execution.objects.get(flow=looping_flow)
    assert execution.status == Execution.Status.COMPLETED_WITH_ERRORS


@pytest.fixture
def sync_flow(org, owner):
    connector = demo.build(org, owner)
    rows = [{"KUNNR": "C-2000", "NAME1": "Polar Trading"}, {"KUNNR": "C-2001", "NAME1": None}]
    Flow.objects.create(
        organization=org,
        name="Customer sync",
        slug="customer-sync",
        draft={
            "steps": [mapping("step-1", "Read", '{"rows": []}', 0, 0, sample_output={"rows": rows})],
            "edges": [],
        },
    )
    return connector


def set_up_a_sync(page) -> None:
    open_editor(page, "customer-sync")
    page.get_by_test_id("palette-sync").drag_to(page.locator(".react-flow__pane"), target_position={"x": 300, "y": 520})
    connect(page, "step-1", "step-2")
    edit_step(page, "step-2")
    page.get_by_label("Database connector").select_option(label="Demo database (SQLite file)")
    page.get_by_label("Table", exact=True).locator("option", has_text="customers").wait_for(state="attached")
    page.get_by_label("Table", exact=True).select_option("customers")
    page.get_by_label("Source rows").fill("{{ steps.read.rows }}")
    page.get_by_role("group", name="Key columns").get_by_label("code").check()
    grid = page.get_by_role("table", name="Field assignments")
    grid.locator('tr[data-column="credit_limit"]').wait_for()
    page.get_by_label("Source of code").select_option("expression")
    page.get_by_label("Value of code").fill("KUNNR")
    page.get_by_label("Source of name").select_option("expression")
    page.get_by_label("Value of name").fill("NAME1")
    page.get_by_label("Default of name").fill("(no name)")
    page.get_by_label("Source of country").select_option("constant")
    page.get_by_label("Value of country").fill("FI")
    assert "C-2000" in page.get_by_label("Sample rows (JSON)").input_value(), "the sample comes from the Read step"
    page.get_by_role("button", name="Preview 5 rows").click()
    preview = page.get_by_role("table", name="Preview of the rows as written")
    preview.get_by_text("Polar Trading").wait_for()
    assert preview.get_by_text("(no name)").count() == 1, "the default fills a missing name"
    assert preview.get_by_text("FI").count() == 2
    page.get_by_role("button", name="Check against the table").click()
    page.get_by_text("The table and its columns are as the settings expect.").wait_for()
    page.get_by_label("Table", exact=True).evaluate("el => el.scrollIntoView({block: 'start'})")
    shoot(page, "sync-form")
    grid.evaluate("el => el.scrollIntoView({block: 'start'})")
    shoot(page, "sync-grid-preview")
    page.get_by_role("button", name="Save", exact=True).click()
    node(page, "step-2").get_by_text("customers ← Demo database").wait_for()
    save_draft(page)


def test_the_sync_form_reads_the_live_schema_and_previews_rows(chromium, owner, org, sync_flow):
    chromium(owner, set_up_a_sync)
    flow = Flow.objects.get(organization=org, slug="customer-sync")
    step = next(s for s in flow.draft["steps"] if s["id"] == "step-2")
    assert step["kind"] == "sync" and step["connector"] == sync_flow.pk
    sync = step["sync"]
    assert sync["table"] == "customers" and sync["key"] == ["code"] and sync["mode"] == "upsert"
    assert sync["rows"] == "{{ steps.read.rows }}"
    assert sync["fields"] == [
        {"column": "code", "expression": "KUNNR"},
        {"column": "name", "expression": "NAME1", "default": "(no name)"},
        {"column": "country", "constant": "FI"},
    ]
