"""Instructions per waited trigger, counted by valgrind: the figure to compare two commits by.

On the shared 2-core machines these benchmarks run on, wall-clock figures move by half from one
minute to the next with nothing changed (the host's other guests), so a change worth 10% cannot be
seen in ``bench/trigger.py``'s executions per second. ``valgrind --tool=callgrind`` counts the
instructions a process executes instead, which the host's load does not change: the same code
counts the same within about half a per cent.

The request is ``bench/trigger.py``'s (a one-step mapping flow, eager, waited), sent straight to
the WSGI application in one process (no gunicorn, no wrk, no network but the database's). The
process runs twice under callgrind, with ``BEFORE`` (40) and ``AFTER`` (240) requests after the same
warm-up, and the difference divided by 200 is what one request costs, start-up and warm-up left out.
Under valgrind a request takes about a hundred times longer, so what happens once a second at real
speed would happen on every few requests: the in-process caches (token, flow, deployment,
organization: one second) and the engine's control check (half a second) are given lifetimes longer
than the run, and the hash seed is fixed.

``BENCH_LAYERS=1`` also counts the same request answered at once by the view (Django's handling,
the middleware, DRF's dispatch with the token, permission and rate limit) and answered before DRF
(Django's handling and the middleware alone), so the request's own work is the difference.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/erpflow REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python bench/instructions.py

Compare two commits by running this file from a git worktree of each (``git worktree add``).
"""

from __future__ import annotations

import gc
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BEFORE, AFTER, WARM_UP = 40, 240, 40
CHILD = "BENCH_INSTRUCTIONS_REQUESTS"  # set in the counted process: how many requests it sends
ANSWER = "BENCH_INSTRUCTIONS_ANSWER"  # "" (the flow runs), "drf" or "django": who answers at once
LAYERS = {"": "the whole request", "drf": "answered by the view at once", "django": "answered before DRF"}
COLLECTED = re.compile(r"Collected : (\d+)")


def child() -> None:
    """The counted process: ``CHILD`` waited triggers after the warm-up, through the WSGI application."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from bench.trigger import ADD_FIELD, create_fixture, setup_django

    setup_django()
    answer_at_once(os.environ.get(ANSWER, ""))
    from config.wsgi import application
    from core.ttl_cache import TTLCache
    from flows import engine

    for cache in gc.get_objects():
        if isinstance(cache, TTLCache):
            cache.seconds = 1e9
    engine.CONTROL_INTERVAL = 1e9
    fixture = create_fixture("instructions", ADD_FIELD)
    try:
        status: list[str] = []
        for n in range(WARM_UP + int(os.environ[CHILD])):
            status.clear()
            body = b"".join(application(environ(fixture.token, n), lambda line, headers, *_: status.append(line)))
            if not status[0].startswith("200"):
                raise SystemExit(f"the trigger answered {status[0]}: {body[:300]!r}")
    finally:
        fixture.remove()


def answer_at_once(layer: str) -> None:
    from django.http import HttpResponse
    from rest_framework.response import Response

    from flows.api.triggers import FlowTriggerView

    if layer == "drf":
        FlowTriggerView.post = lambda self, request, slug: Response({"seen": True})
    elif layer == "django":
        FlowTriggerView.dispatch = lambda self, request, *args, **kwargs: HttpResponse(
            b'{"seen": true}', content_type="application/json"
        )


def environ(token: str, n: int) -> dict:
    body = json.dumps({"environment": "sandbox", "payload": {"n": n}, "wait": 30}).encode()
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/v1/flows/bench/executions",
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": "http",
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def counted(requests: int, layer: str, folder: Path) -> int:
    """Instructions of a whole child process sending ``requests`` requests."""
    from django.conf import settings

    env = {
        **os.environ,
        CHILD: str(requests),
        ANSWER: layer,
        "PYTHONHASHSEED": "0",
        "DEBUG": "0",
        "SECRET_KEY": settings.SECRET_KEY,
        "ERPFLOW_ENCRYPTION_KEYS": ",".join(settings.ERPFLOW_ENCRYPTION_KEYS),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "ERPFLOW_RATE_LIMIT_ORGANIZATION": "100000000",
        "ERPFLOW_RATE_LIMIT_TOKEN": "100000000",
    }
    out = folder / f"callgrind.{layer or 'flow'}.{requests}"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, __file__]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    found = COLLECTED.search(done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"the counted process failed ({done.returncode}): {(done.stdout + done.stderr)[-800:]}")
    return int(found.group(1))


def per_request(layer: str, folder: Path) -> float:
    with ThreadPoolExecutor(2) as runs:  # one per core: the counts do not depend on the timing
        before, after = runs.map(lambda n: counted(n, layer, folder), (BEFORE, AFTER))
    return (after - before) / (AFTER - BEFORE)


def main() -> None:
    if shutil.which("valgrind") is None:
        print("instructions: valgrind is not installed (Debian's valgrind package): nothing counted")
        return
    from bench.trigger import setup_django

    setup_django()  # migrated and with its history before the counted processes start
    layers = list(LAYERS) if os.environ.get("BENCH_LAYERS") == "1" else [""]
    with tempfile.TemporaryDirectory(prefix="erpflow-instructions-") as folder:
        counts = {layer: per_request(layer, Path(folder)) for layer in layers}
    print(f"instructions: a waited trigger of a one-step flow, in one process ({AFTER - BEFORE} requests counted)")
    for layer, count in counts.items():
        print(f"  {LAYERS[layer]:<30} {count / 1e6:7.3f} million instructions per request")
    if len(counts) == len(LAYERS):
        print(
            f"  of the whole: Django and middleware {counts['django'] / counts[''] * 100:.0f}%, "
            f"DRF with token, permission and rate limit {(counts['drf'] - counts['django']) / counts[''] * 100:.0f}%, "
            f"the request's own work {(counts[''] - counts['drf']) / counts[''] * 100:.0f}%"
        )


if __name__ == "__main__":
    if CHILD in os.environ:
        child()
    else:
        main()
