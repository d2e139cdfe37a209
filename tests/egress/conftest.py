"""Fixtures of the network policy tests: a canary listener, small local servers, a resolver double.

Every test here starts from an installation that sets none of the policy's variables
(``installation_network_policy``), so what the rest of the suite allows for its database servers
cannot make a refusal here pass. Local servers are reached through explicit allowlists.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.egress import policy as egress_policy


@pytest.fixture(autouse=True)
def default_installation(installation_network_policy):
    return installation_network_policy


class Canary:
    """A TCP listener on 127.0.0.1 and ::1 (one port) that counts every connection it is offered."""

    def __init__(self):
        self.connections = 0
        self.lock = threading.Lock()
        self.sockets = []
        first = socket.create_server(("127.0.0.1", 0))
        self.port = first.getsockname()[1]
        self.sockets.append(first)
        with contextlib.suppress(OSError):  # a machine without IPv6 loopback keeps the IPv4 listener
            self.sockets.append(socket.create_server(("::1", self.port), family=socket.AF_INET6))
        self.threads = [threading.Thread(target=self._accept, args=(s,), daemon=True) for s in self.sockets]
        for thread in self.threads:
            thread.start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
            conn.close()

    def close(self) -> None:
        for server in self.sockets:
            server.close()


@pytest.fixture
def canary() -> Iterator[Canary]:
    listener = Canary()
    yield listener
    listener.close()


class Recorder(BaseHTTPRequestHandler):
    """Answers every GET with 200 (or the redirect the server was given) and records the Host header."""

    def do_GET(self):  # noqa: N802 - the name http.server calls
        self.server.hosts.append(self.headers.get("Host"))
        if self.server.redirect_to:
            self.send_response(302)
            self.send_header("Location", self.server.redirect_to)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"hello from " + self.server.server_address[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def http_server(address: str, *, redirect_to: str = "", tls=None) -> Iterator[ThreadingHTTPServer]:
    """A real HTTP server on ``address`` (any free port); ``tls`` is a server SSLContext."""
    server = ThreadingHTTPServer((address, 0), Recorder)
    server.hosts = []
    server.redirect_to = redirect_to
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


class ResolverDouble:
    """Stands in for DNS, which the tests cannot configure on this machine: names map to addresses
    (a list per lookup, in turn, to play a rebinding DNS server); other names go to the real resolver."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def add(self, name: str, *answers: list[str]) -> None:
        self.answers[name] = list(answers)

    def __call__(self, name: str, port: int):
        self.lookups.append(name)
        if name not in self.answers:
            return self.real(name, port)
        turns = self.answers[name]
        answer = turns.pop(0) if len(turns) > 1 else turns[0]
        return [ipaddress.ip_address(address) for address in answer]


@pytest.fixture
def resolver(monkeypatch) -> ResolverDouble:
    double = ResolverDouble(egress_policy.resolve)
    monkeypatch.setattr(egress_policy, "resolve", double)
    return double
