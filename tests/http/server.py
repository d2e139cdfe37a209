"""A real HTTP server on 127.0.0.1 for the tests, checking each authentication scheme as an API would.

Routes (every answer is JSON unless said otherwise):

- ``/echo/...``: the request as received (method, path, query, headers, body);
  ``/echo-error``: a 500 whose text repeats the request's credential headers and raw path, as a
  debugging error page would;
- ``/basic``, ``/bearer``, ``/apikey-header``, ``/apikey-query``: 200 only with the right credentials;
- ``/token``: an OAuth2 token endpoint (client credentials in the body or as basic auth), counting
  requests; a refusal repeats the request's ``Authorization``; ``/oauth/...`` accepts only a live
  token it issued;
- ``/entity/auth/login`` and ``/entity/auth/logout``: a session login setting a cookie;
  ``/entity/...`` needs a live session;
- ``/status/<code>``: that status (with ``Retry-After`` for 429 and 503 when ``state.retry_after``);
  ``/flaky/<n>``: 503 (with ``Retry-After`` likewise) to the first n calls, then 200;
- ``/slow``: answers after ``state.slow_seconds``; ``/held``: holds ``state.hold_seconds`` and counts
  requests in flight (``state.peak``); ``/redirect?to=``: a 302 there (without ``to``: to
  ``state.redirect_to``); ``/big``: ``state.big_bytes``
  bytes; ``/raw-json``: ``state.raw_json`` as ``application/json``; ``/xml``: an XML document.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

USER, PASSWORD = "erp-user", "pa55-Word!"
TOKEN = "bearer-T0ken-xyz"
API_KEY = "k3y-ABC-123"
CLIENT_ID, CLIENT_SECRET = "client-1", "cl13nt-S3cret"


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.token_requests = 0
        self.token_lifetime = 3600
        self.tokens: dict[str, float] = {}
        self.token_forms: list[dict] = []
        self.logins = 0
        self.logouts = 0
        self.sessions: set[str] = set()
        self.login_bodies: list[dict] = []
        self.retry_after: str | None = None
        self.status_calls = 0
        self.slow_seconds = 5.0
        self.hold_seconds = 0.2
        self.in_flight = 0
        self.peak = 0
        self.big_bytes = 0
        self.raw_json = b""
        self.redirect_to = ""

    def expire_sessions(self) -> None:
        with self.lock:
            self.sessions.clear()

    def revoke_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ApiServer

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.handle_any()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def answer(self, status: int, body, *, headers: dict | None = None, content_type="application/json"):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def handle_any(self):
        state = self.server.state
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        seen = {
            "method": self.command,
            "path": parts.path,
            "raw_path": self.path,
            "query": {k: v if len(v) > 1 else v[0] for k, v in parse_qs(parts.query).items()},
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": raw.decode(errors="replace"),
        }
        with state.lock:
            state.requests.append(seen)
        route = parts.path
        if route == "/echo-error":
            shown = [f"{k}: {v}" for k, v in seen["headers"].items() if k in ("authorization", "cookie", "x-api-key")]
            text = "; ".join([*shown, seen["raw_path"]]).encode()
            return self.answer(500, text, content_type="text/plain")
        if route.startswith("/echo"):
            return self.answer(200, seen)
        if route == "/basic":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            return self.allowed(self.headers.get("Authorization") == expected)
        if route == "/bearer":
            return self.allowed(self.headers.get("Authorization") == f"Bearer {TOKEN}")
        if route == "/apikey-header":
            return self.allowed(self.headers.get("X-API-Key") == API_KEY)
        if route == "/apikey-query":
            return self.allowed(seen["query"].get("api_key") == API_KEY)
        if route == "/token":
            return self.token(seen)
        if route.startswith("/oauth/"):
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            with state.lock:
                live = state.tokens.get(token, 0) > time.monotonic()
            return self.allowed(live)
        if route == "/entity/auth/login":
            return self.login(raw)
        if route == "/entity/auth/logout":
            with state.lock:
                state.logouts += 1
                state.sessions.discard(self.session_cookie())
            return self.answer(204, b"")
        if route.startswith("/entity/"):
            with state.lock:
                live = self.session_cookie() in state.sessions
            if not live:
                return self.answer(401, {"message": "You are not logged in."})
            return self.answer(200, {"path": route, "query": seen["query"], "body": seen["body"]})
        if route.startswith("/flaky/"):
            with state.lock:
                state.status_calls += 1
                calls = state.status_calls
            if calls <= int(route.rsplit("/", 1)[1]):
                headers = {"Retry-After": state.retry_after} if state.retry_after else {}
                return self.answer(503, {"error": "busy"}, headers=headers)
            return self.answer(200, {"ok": True, "call": calls})
        if route.startswith("/status/"):
            code = int(route.rsplit("/", 1)[1])
            with state.lock:
                state.status_calls += 1
            headers = {"Retry-After": state.retry_after} if state.retry_after and code in (429, 503) else {}
            return self.answer(code, {"error": f"status {code} as asked"}, headers=headers)
        if route == "/slow":
            time.sleep(state.slow_seconds)
            return self.answer(200, {"slow": True})
        if route == "/held":
            with state.lock:
                state.in_flight += 1
                state.peak = max(state.peak, state.in_flight)
            try:
                time.sleep(state.hold_seconds)
            finally:
                with state.lock:
                    state.in_flight -= 1
            return self.answer(200, {"held": True})
        if route == "/redirect":
            target = seen["query"].get("to") or state.redirect_to
            return self.answer(302, {"moved": True}, headers={"Location": target})
        if route == "/raw-json":
            return self.answer(200, state.raw_json, content_type="application/json")
        if route == "/big":
            return self.answer(200, b"x" * state.big_bytes, content_type="text/plain")
        if route == "/xml":
            body = b'<?xml version="1.0"?><order id="7"><line sku="A-1">2</line><note>ok &amp; done</note></order>'
            return self.answer(200, body, content_type="application/xml", headers={"Set-Cookie": "sid=abc; Path=/"})
        return self.answer(404, {"error": "no such route"})

    def allowed(self, ok: bool):
        if ok:
            return self.answer(200, {"ok": True})
        return self.answer(401, {"error": "bad or missing credentials"})

    def token(self, seen: dict):
        state = self.server.state
        form = {k: v[0] for k, v in parse_qs(seen["body"]).items()}
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if "authorization" in seen["headers"]:
            decoded = base64.b64decode(seen["headers"]["authorization"].removeprefix("Basic ")).decode()
            client_id, _, client_secret = decoded.partition(":")
        with state.lock:
            state.token_requests += 1
            state.token_forms.append({**form, "_query": seen["query"], "_headers": seen["headers"]})
        if form.get("grant_type") != "client_credentials" or (client_id, client_secret) != (CLIENT_ID, CLIENT_SECRET):
            return self.answer(401, {"error": "invalid_client", "seen": seen["headers"].get("authorization", "")})
        token = secrets.token_hex(8)
        with state.lock:
            state.tokens[token] = time.monotonic() + state.token_lifetime
        return self.answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": state.token_lifetime})

    def session_cookie(self) -> str:
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == ".ASPXAUTH":
                return value
        return ""

    def login(self, raw: bytes):
        state = self.server.state
        body = json.loads(raw or b"{}")
        with state.lock:
            state.login_bodies.append(body)
        if (body.get("name"), body.get("password")) != (USER, PASSWORD):
            return self.answer(500, {"exceptionMessage": "Invalid credentials."})
        session = secrets.token_hex(8)
        with state.lock:
            state.logins += 1
            state.sessions.add(session)
        return self.answer(204, b"", headers={"Set-Cookie": f".ASPXAUTH={session}; Path=/; HttpOnly"})


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.state = State()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> ApiServer:
        threading.Thread(target=self.serve_forever, name="test-api-server", daemon=True).start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
