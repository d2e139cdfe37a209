"""The monitoring page in Chromium: its charts draw the executions the database holds."""

from __future__ import annotations

import pytest

from flows import engine
from tests.flows.builders import chain, graph, mapping
from tests.flows.conftest import publish, start  # noqa: F401 - the flow fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def read_the_charts(page) -> dict:
    page.goto("/monitoring/")
    totals = page.get_by_test_id("totals")
    totals.wait_for()
    page.locator("section[aria-label='Executions over time'] canvas").wait_for()
    drawn = {}
    for name in ("Executions over time", "Duration per flow", "Slowest steps", "Most failing steps"):
        canvas = page.locator(f"section[aria-label='{name}'] canvas")
        # A chart that drew something has coloured pixels; an empty canvas is all transparent.
        drawn[name] = canvas.evaluate(
            """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                      let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"""
        )
    drawn["totals"] = totals.inner_text()
    drawn["pools"] = page.locator("section[aria-label='Pool usage']").inner_text()
    return drawn


def test_the_charts_draw_the_executions_and_their_failing_step(chromium, owner, publish, start):  # noqa: F811
    good = publish(graph([mapping("a", '"ok"')]), name="Orders")
    bad = publish(graph([mapping("a", '"ok"'), mapping("b", '$error("no stock")', y=1)], chain("a", "b")), name="Stock")
    for version in (good, good, bad):
        engine.run(start(version).pk)

    seen = {}
    chromium(owner, lambda page: seen.update(read_the_charts(page)))
    assert seen["totals"] == "3 executions, 1 failed"
    assert all(seen[name] > 100 for name in ("Executions over time", "Duration per flow", "Most failing steps")), seen
    assert "No connector you may see is deployed." in seen["pools"]


LONG_NAME = "Synchronise the warehouse stock of every subsidiary with the central ERP every night"


def the_duration_chart(page) -> dict:
    page.goto("/monitoring/")
    canvas = page.locator("section[aria-label='Duration per flow'] canvas")
    canvas.wait_for()
    page.wait_for_timeout(600)  # the bars grow in for 300 ms
    # Chart.js right-aligns a label against the axis: one longer than the room it gets runs off the
    # canvas's left edge, so drawn pixels in the first columns are a clipped label.
    return canvas.evaluate(
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let edge = 0, text = 0;
                  for (let i = 0; i < d.length; i += 4) {
                    const x = (i / 4) % c.width;
                    if (d[i + 3] && x < 3) edge++;
                    if (d[i + 3] && x < c.width / 2) text++;
                  }
                  return { edge, text }; }"""
    )


def test_a_long_flow_name_is_ellipsized_on_the_axis_not_clipped(chromium, owner, publish, start):  # noqa: F811
    engine.run(start(publish(graph([mapping("a", '"ok"')]), name=LONG_NAME)).pk)
    seen = {}
    chromium(owner, lambda page: seen.update(the_duration_chart(page)))
    assert seen["text"] > 50, f"the label is drawn: {seen}"
    assert seen["edge"] == 0, f"the label runs off the canvas: {seen}"
