"""Run-and-watch in Chromium at 1280x800 while the run is still going: a for-each's progress over its items
appears as the items finish (not only at the end), and an execution parked by a long delay is polled
gently (every two seconds) instead of at the pace of a running one.
Screenshots go to ``ERPFLOW_SHOTS`` (default /tmp/shots-h) for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from flows.models import Execution, Flow
from tests.browser.test_editor_flow_control import mapping, open_editor, shoot
from tests.browser.test_flow_editor import Runner, node

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def unlimited(settings):
    """Run-and-watch polls the API: no rate limit in the way."""
    settings.ERPFLOW_RATE_LIMIT_ORGANIZATION = 10**6


def delay(step_id: str, name: str, x: int, y: int, **extra) -> dict:
    return {"id": step_id, "kind": "delay", "name": name, "timeout_ms": 60000, "position": {"x": x, "y": y}, **extra}


@pytest.fixture
def slow_loop(org):
    """Numbers (1..30) → each number: Pause 100 ms; the run takes about three seconds."""
    return Flow.objects.create(
        organization=org,
        name="Slow loop",
        slug="slow-loop",
        draft={
            "steps": [
                mapping("step-1", "Numbers", '{"numbers": [1..30]}', 0, 0),
                {
                    "id": "step-2",
                    "kind": "foreach",
                    "name": "Each number",
                    "items": "{{ steps.numbers.numbers }}",
                    "timeout_ms": 60000,
                    "position": {"x": 0, "y": 130},
                    "size": {"width": 300, "height": 220},
                },
                delay("step-3", "Pause", 40, 230, group="step-2", delay_ms=100),
            ],
            "edges": [{"source": "step-1", "target": "step-2"}],
        },
    )


def start_run(page, slug: str) -> None:
    open_editor(page, slug)
    page.get_by_role("button", name="Run…").click()
    page.get_by_label("Test payload (JSON)").fill("{}")
    page.get_by_role("form", name="Run in sandbox").get_by_role("button", name="Run in sandbox").click()


def watch_the_loop(page) -> None:
    start_run(page, "slow-loop")
    progress = node(page, "step-2").locator(".loop-progress")
    seen: list[str] = []
    for _ in range(200):  # 200 x 50 ms: the progress texts the box shows while the run goes on
        text = progress.inner_text() if progress.count() else ""
        if text and text not in seen:
            seen.append(text)
        if text == "30 / 30":
            break
        page.wait_for_timeout(50)
    between = [t for t in seen if re.fullmatch(r"([1-9]|[12]\d) / 30", t)]
    assert between, f"the box showed progress while the loop ran: {seen}"
    status = page.get_by_role("region", name="Run status")
    status.get_by_text("Each number: 30 / 30").wait_for()
    shoot(page, "loop-progress-done")


def test_a_for_each_shows_its_progress_while_it_runs(chromium, owner, org, slow_loop):
    with Runner(slow_loop.slug):
        chromium(owner, watch_the_loop)
    assert Execution.objects.get(flow=slow_loop).status == Execution.Status.SUCCEEDED


@pytest.fixture
def parked_flow(org, settings):
    """Start → Wait a minute: longer than the inline wait, so the execution parks (status waiting)."""
    settings.ERPFLOW_INLINE_WAIT_SECONDS = 0
    return Flow.objects.create(
        organization=org,
        name="Parked",
        slug="parked",
        draft={
            "steps": [
                mapping("step-1", "Start", '{"ok": true}', 0, 0),
                delay("step-2", "Wait", 0, 130, delay_ms=60000),
            ],
            "edges": [{"source": "step-1", "target": "step-2"}],
        },
    )


def watch_a_parked_run(page) -> None:
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if re.search(r"/api/v1/executions/\d+/$", r.url) else None)
    start_run(page, "parked")
    status = page.get_by_role("region", name="Run status")
    status.locator(".status-chip.status-waiting").wait_for()
    assert "1 of 2 steps done" in status.inner_text(), "a waiting step is not done"
    before = len(polls)
    page.wait_for_timeout(4200)
    asked = len(polls) - before
    assert 1 <= asked <= 3, f"a waiting execution is polled every two seconds, not {asked} times in 4.2 s"
    shoot(page, "parked-run")


def test_a_parked_execution_is_polled_every_two_seconds(chromium, owner, org, parked_flow):
    with Runner(parked_flow.slug):
        chromium(owner, watch_a_parked_run)
    assert Execution.objects.get(flow=parked_flow).status == Execution.Status.WAITING
