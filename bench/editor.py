"""The canvas editor with a large flow: 200 steps and 250 edges, in headless Chromium at 1280x800.

Serves the app with gunicorn (``DEBUG`` on, so whitenoise serves the committed ``static/editor/`` bundle
as in ``make run``) on ``DATABASE_URL``, signs in a benchmark user, then prints:

- time to interactive: from navigation to the editor marking itself ready with all 200 steps drawn
  (median of ``BENCH_LOADS`` loads, 5 by default), and the DOM content loaded time for comparison;
- frame time while panning: the canvas is dragged with the mouse for two seconds while the page
  records the interval between animation frames (p50, p95, and the frames per second that gives).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow .venv/bin/python bench/editor.py

Figures are printed, never asserted: they depend on the machine (the target is under 1 s and 60 fps).
"""

from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STEPS, EDGES, COLUMNS = 200, 250, 10
LOADS = int(os.environ.get("BENCH_LOADS", "5"))
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def large_graph() -> dict:
    """Rows of ten mapping steps; each step after the first row follows the one above it, and the first
    70 of them also the one above and to the right: 180 + 70 = 250 edges, no cycle."""
    steps = [
        {
            "id": f"s{i}",
            "kind": "mapping",
            "name": f"Step {i}",
            "instruction": f'{{"n": {i}}}',
            "position": {"x": (i % COLUMNS) * 260, "y": (i // COLUMNS) * 130},
        }
        for i in range(STEPS)
    ]
    edges = [{"source": f"s{i - COLUMNS}", "target": f"s{i}"} for i in range(COLUMNS, STEPS)]
    for i in range(COLUMNS, COLUMNS + EDGES - len(edges)):
        row, column = divmod(i, COLUMNS)
        edges.append({"source": f"s{(row - 1) * COLUMNS + (column + 1) % COLUMNS}", "target": f"s{i}"})
    return {"steps": steps, "edges": edges}


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.models import Organization
    from flows import versions
    from flows.models import Flow

    call_command("migrate", verbosity=0, interactive=False)
    user = get_user_model().objects.create_user(username=f"bench-{uuid.uuid4().hex[:10]}")
    organization = Organization.create("Editor benchmark", owner=user)
    flow = Flow.objects.create(organization=organization, name="Large flow", slug="large")
    graph = large_graph()
    problems = versions.save_draft(flow, graph, user)
    if problems:
        raise SystemExit(f"the benchmark flow is invalid: {[p.message for p in problems[:3]]}")
    client = Client()
    client.force_login(user)
    from django.conf import settings

    return organization, user, client.cookies[settings.SESSION_COOKIE_NAME].value


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(port: int, log) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "1", "ALLOWED_HOSTS": "127.0.0.1"}
    command = [str(BIN / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError as exc:
            if getattr(exc, "code", None):  # answered, even if unhealthy (no worker here)
                break
            time.sleep(0.1)
    return process


RECORD_FRAMES = """() => new Promise(resolve => {
  const frames = []; let last = performance.now(); const end = last + 2000;
  function tick(now) {
    frames.push(now - last); last = now;
    if (now < end) requestAnimationFrame(tick); else resolve(frames);
  }
  requestAnimationFrame(tick);
})"""


def measure(base: str, cookie: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
        )
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
        page = context.new_page()
        ready, loaded = [], []
        for _ in range(LOADS + 1):  # the first load warms the caches and is not counted
            start = time.perf_counter()
            page.goto(f"{base}/flows/large/", wait_until="domcontentloaded")
            loaded.append(time.perf_counter() - start)
            page.wait_for_function(
                "() => document.querySelector('.editor-shell[data-ready=true]') && "
                f"document.querySelectorAll('.react-flow__node').length === {STEPS}",
                polling="raf",
            )
            ready.append(time.perf_counter() - start)
        edges = page.locator(".react-flow__edge").count()
        print(f"steps drawn {page.locator('.react-flow__node').count()}, edges drawn {edges}")
        print(f"DOM content loaded: median {statistics.median(loaded[1:]) * 1000:.0f} ms")
        print(
            f"time to interactive: median {statistics.median(ready[1:]) * 1000:.0f} ms, "
            f"best {min(ready[1:]) * 1000:.0f} ms over {LOADS} loads"
        )

        box = page.locator(".react-flow__pane").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        page.mouse.down()
        frames = page.evaluate_handle(RECORD_FRAMES)
        for i in range(120):
            page.mouse.move(x + 200 * ((i % 40) / 40 - 0.5), y + 100 * ((i % 30) / 30 - 0.5))
            page.wait_for_timeout(15)
        page.mouse.up()
        intervals = sorted(frames.json_value()[1:])
        p50 = statistics.median(intervals)
        p95 = intervals[int(len(intervals) * 0.95) - 1]
        print(
            f"panning: {len(intervals)} frames in 2 s, frame time p50 {p50:.1f} ms, p95 {p95:.1f} ms "
            f"({1000 / p50:.0f} fps at the median)"
        )
        browser.close()


def main() -> None:
    organization, user, cookie = setup()
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = serve(port, log)
        try:
            measure(f"http://127.0.0.1:{port}", cookie)
        finally:
            server.terminate()
            server.wait(10)
            from flows.models import Flow

            Flow.objects.filter(organization=organization).delete()
            organization.delete()
            user.delete()


if __name__ == "__main__":
    main()
