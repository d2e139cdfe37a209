"""HTTP connector overhead: 5,000 GETs to a local server, three ways, one thread each.

1. through the connector: the HTTP type's pool (one keep-alive client) and ``execute``, with the
   instruction rendered each time, as a flow step does (``connectors.runtime.call`` without the
   registry lookup and the concurrency slot);
2. a new httpx client per call (no keep-alive), as code without a pool would do;
3. bare httpx with one keep-alive client: the floor.

Prints calls per second for each and the connector's added time per call over bare httpx
(target: under 1 ms).

    .venv/bin/python bench/http_connector.py

(Not ``bench/http.py``: a module named ``http`` in this folder would shadow the standard library for
every benchmark run as ``python bench/<name>.py``.)
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CALLS = int(os.environ.get("BENCH_HTTP_CALLS", "5000"))
BODY = b'{"id": "C-1000", "name": "Acme", "open_orders": 3}'


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Headers and body leave in two writes; without this, delayed ACKs add 40 ms to every keep-alive call.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def timed(label: str, run) -> float:
    run(50)  # warm up: connections, caches
    started = time.perf_counter()
    run(CALLS)
    elapsed = time.perf_counter() - started
    print(f"{label:<44} {CALLS / elapsed:>9.0f} calls/s   {elapsed / CALLS * 1000:.3f} ms/call", flush=True)
    return elapsed / CALLS


def main() -> None:
    setup_django()
    import httpx

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would be measured too

    from connectors import values
    from connectors.catalog.base import Deadline
    from connectors.catalog.http import HttpType
    from connectors.http.client import build_client
    from instructions.http import render

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    settings = values.resolve(
        HttpType, values.clean(HttpType, {"base_url": base, "allowed_networks": "127.0.0.1/32"}), None
    )
    kind = HttpType()
    pool = kind.open(settings, name="bench")
    instruction = "GET /customers/{{ trigger.payload.id }}\nAccept: application/json"
    context = {"trigger": {"payload": {"id": "C-1000"}}}
    options, _ = HttpType.step_option_values({})

    def through_connector(n: int) -> None:
        for _ in range(n):
            rendered = render(instruction, context)
            deadline = Deadline(5000)
            with pool.connection(deadline) as session:
                assert kind.execute(session, rendered.text, rendered.params, deadline, options)["status"] == 200

    def new_client_per_call(n: int) -> None:
        for _ in range(n):
            with build_client(settings, max_connections=1) as client:
                assert client.get(f"{base}/customers/C-1000", headers={"Accept": "application/json"}).status_code == 200

    bare = httpx.Client(trust_env=False)

    def bare_httpx(n: int) -> None:
        for _ in range(n):
            response = bare.get(f"{base}/customers/C-1000", headers={"Accept": "application/json"})
            assert response.status_code == 200
            response.json()

    print(f"{CALLS} GET calls to a local server, one thread", flush=True)
    floor = timed("bare httpx, one keep-alive client", bare_httpx)
    pooled = timed("through the connector (keep-alive pool)", through_connector)
    fresh = timed("a new client per call", new_client_per_call)
    print(f"connector overhead over bare httpx: {(pooled - floor) * 1000:.3f} ms per call (target < 1 ms)")
    print(f"keep-alive pool vs a new client per call: {fresh / pooled:.1f}x the calls per second")
    pool.close()
    bare.close()
    server.shutdown()


if __name__ == "__main__":
    main()
