"""The canvas editor in Chromium, as a newcomer uses it: a new flow from the list, two connectors dragged from
the palette and connected (a loop refused), the step form filled with the properties picker, a timeout of
70000 ms refused as it is typed, the draft saved and found again after a reload, a step copied, deleted and
brought back with undo, then a run in the sandbox whose statuses appear on the steps, and the failed step's log.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from connectors import demo, values
from connectors.catalog.sqlite import SQLiteType
from connectors.models import Connector, ConnectorSettings
from flows import engine
from flows.models import Execution, Flow

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CTRL = "Control"


@pytest.fixture
def two_databases(org, owner):
    """The demo SQLite database (customers C-1000...) and a second connector on the same file."""
    first = demo.build(org, owner)
    second = Connector.objects.create(organization=org, type_key=SQLiteType.key, name="Stock database")
    for row in first.settings.all():
        stored = values.clean(SQLiteType, {"path": row.values["path"]}, organization=org)
        ConnectorSettings.objects.create(connector=second, environment=row.environment, values=stored)
    return first, second


class Runner:
    """Plays the worker for the run the browser starts: runs each new execution of the flow with the real
    engine, in a thread of the test process (the browser polls the API meanwhile)."""

    def __init__(self, slug: str):
        self.slug = slug
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop)

    def loop(self) -> None:
        try:
            while not self.stop.is_set():
                for execution in Execution.objects.filter(flow__slug=self.slug, status=Execution.Status.QUEUED):
                    engine.run(execution.pk)
                time.sleep(0.1)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)


def node(page, step_id: str):
    return page.locator(f'.react-flow__node[data-id="{step_id}"]')


def edit_step(page, step_id: str) -> None:
    node(page, step_id).hover()
    node(page, step_id).locator("button[aria-label^='Edit']").click()
    page.get_by_label("Name", exact=True).wait_for()


def build_the_flow(page) -> None:
    page.goto("/flows/")
    page.get_by_role("link", name="Create your first flow").click()
    page.get_by_label("Name").fill("Order check")
    page.get_by_role("button", name="Create flow").click()
    page.wait_for_url("**/flows/order-check/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()
    page.get_by_text("Start your flow").wait_for()

    page.get_by_label("Search steps").fill("stock")
    assert page.get_by_test_id("palette-Demo database").count() == 0, "the search narrows the palette"
    page.get_by_label("Search steps").fill("")
    canvas = page.locator(".react-flow__pane")
    page.get_by_test_id("palette-Demo database").drag_to(canvas, target_position={"x": 420, "y": 120})
    page.get_by_test_id("palette-Stock database").drag_to(canvas, target_position={"x": 420, "y": 330})
    assert page.locator(".react-flow__node").count() == 2
    # React Flow keeps a new node hidden until it has measured it: wait for its text to show, not read it once.
    node(page, "step-1").get_by_text("Demo database").first.wait_for()
    assert node(page, "step-1").bounding_box()["y"] < node(page, "step-2").bounding_box()["y"], "dropped where aimed"

    node(page, "step-1").locator(".react-flow__handle.source").drag_to(
        node(page, "step-2").locator(".react-flow__handle.target")
    )
    page.locator(".react-flow__edge").first.wait_for(state="attached")
    assert page.locator(".react-flow__edge").count() == 1
    node(page, "step-2").locator(".react-flow__handle.source").drag_to(
        node(page, "step-1").locator(".react-flow__handle.target")
    )
    assert "loop" in page.locator(".hint").inner_text()
    assert page.locator(".react-flow__edge").count() == 1, "the loop was refused"

    page.get_by_role("button", name="Validate").click()
    panel = page.get_by_label("Problems")
    panel.get_by_text("the instruction is empty").first.wait_for()
    assert "has-problems" in node(page, "step-1").locator(".step-node").get_attribute("class"), (
        "the step with a problem is marked"
    )

    edit_step(page, "step-1")
    timeout = page.get_by_label("Timeout (ms)")
    assert timeout.input_value() == "3000"
    timeout.fill("70000")
    page.get_by_text("must be between 1 and 60000 ms").wait_for()
    assert page.get_by_role("button", name="Save", exact=True).is_disabled()
    timeout.fill("5000")
    instruction = page.locator("#step-instruction")
    instruction.fill("SELECT code, name FROM customers WHERE code = 'C-1000")
    page.locator(".instruction-problems").get_by_text("line 1, column").wait_for()
    # A backslash before a quote ends a string in SQLite but not in MySQL: the editor asks with the
    # step's connector, so it gets the SQLite answer (no problem), as saving would.
    with page.expect_response(lambda r: "/instructions/check/" in r.url) as checked:
        instruction.fill("SELECT 'a\\' AS a, {{ execution.id }} AS b")
    assert checked.value.json()["problems"] == []
    assert "connector" in checked.value.request.post_data_json
    instruction.fill("SELECT code, name FROM customers WHERE code = ")
    page.locator(".properties").get_by_role("button", name="execution.correlation_id").wait_for()
    instruction.press("End")
    page.get_by_label("Filter properties").fill("execution.id")
    page.locator(".properties").get_by_role("button", name="execution.id").click()
    caret_back_in_the_instruction(page)
    assert instruction.input_value() == "SELECT code, name FROM customers WHERE code = {{ execution.id }}"
    assert page.locator(".code-mirror .tok-kw").first.inner_text() == "SELECT", "the SQL is highlighted"
    instruction.fill("SELECT code, name FROM customers WHERE code = {{ trigger.payload.customer }}")
    page.get_by_role("button", name="Save", exact=True).click()
    # The node re-renders with its new settings after the drawer closes: wait for it rather than read it once.
    node(page, "step-1").get_by_text("5000 ms").wait_for()

    edit_step(page, "step-2")
    page.get_by_label("Name", exact=True).fill("Check stock")
    page.locator("#step-instruction").fill("SELECT qty FROM no_such_table WHERE code = ")
    page.locator(".properties").get_by_role("button", name="steps.demo_database").click()
    caret_back_in_the_instruction(page)
    assert page.locator("#step-instruction").input_value().endswith("{{ steps.demo_database }}")
    page.locator("#step-instruction").fill(
        "SELECT qty FROM no_such_table WHERE code = {{ steps.demo_database.rows[0].code }}"
    )
    page.get_by_label("Ignore Errors").check()
    page.get_by_text("the error is logged and the following steps still run").wait_for()
    page.get_by_label("Ignore Errors").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    page.get_by_text("Unsaved changes").wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved the draft.").wait_for()


def caret_back_in_the_instruction(page) -> None:
    """An inserted property puts the caret after it in the next frame; typing before then (as only a
    test can) would land where the caret goes, so wait for the instruction to have the focus back."""
    page.wait_for_function("document.activeElement && document.activeElement.id === 'step-instruction'")


def find_it_again_and_edit(page) -> None:
    page.goto("/flows/order-check/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()
    assert page.locator(".react-flow__node").count() == 2
    assert page.locator(".react-flow__edge").count() == 1
    node(page, "step-2").get_by_text("Check stock").first.wait_for()

    node(page, "step-2").click()
    page.keyboard.press(f"{CTRL}+c")
    page.keyboard.press(f"{CTRL}+v")
    copy = node(page, "step-3")
    copy.wait_for()
    copy.get_by_text("Check stock 2").wait_for()  # the copy keeps the settings under a new name
    page.keyboard.press("Delete")
    copy.wait_for(state="detached")
    page.keyboard.press(f"{CTRL}+z")
    copy.wait_for()
    page.keyboard.press(f"{CTRL}+Shift+z")
    copy.wait_for(state="detached")
    assert page.locator(".react-flow__node").count() == 2
    page.get_by_text("Unsaved changes").wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Saved the draft.").wait_for()


def run_and_watch(page) -> None:
    page.goto("/flows/order-check/")
    page.locator('.editor-shell[data-ready="true"]').wait_for()
    page.get_by_role("button", name="Run…").click()
    page.get_by_label("Test payload (JSON)").fill('{"customer": "C-1000"}')
    page.get_by_role("form", name="Run in sandbox").get_by_role("button", name="Run in sandbox").click()
    node(page, "step-1").locator(".status-chip.status-succeeded").wait_for()
    failed = node(page, "step-2").locator(".status-chip.status-failed")
    failed.wait_for()
    assert " ms" in failed.inner_text(), "the status shows the step's duration"
    failed.click()
    panel = page.get_by_label("Run of Check stock")
    assert "no_such_table" in panel.locator(".step-error").inner_text()
    node(page, "step-1").locator(".status-chip").click()
    assert "C-1000" in page.get_by_label("Run of Demo database").inner_text(), "the output of a step opens on a click"


def test_a_flow_is_drawn_saved_edited_and_run_in_the_canvas(chromium, owner, org, two_databases):
    first, second = two_databases
    chromium(owner, build_the_flow)
    flow = Flow.objects.get(organization=org, slug="order-check")
    steps = {step["id"]: step for step in flow.draft["steps"]}
    assert steps["step-1"]["connector"] == first.pk and steps["step-2"]["connector"] == second.pk
    assert steps["step-1"]["timeout_ms"] == 5000
    assert steps["step-2"]["name"] == "Check stock" and steps["step-2"]["ignore_errors"] is False
    assert flow.draft["edges"] == [{"source": "step-1", "target": "step-2"}]

    chromium(owner, find_it_again_and_edit)
    flow.refresh_from_db()
    assert sorted(step["id"] for step in flow.draft["steps"]) == ["step-1", "step-2"]

    with Runner(flow.slug):
        chromium(owner, run_and_watch)
    execution = Execution.objects.get(flow=flow)
    assert execution.status == Execution.Status.FAILED
