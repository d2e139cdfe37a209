"""Any HTTP/REST API: a base URL, an authentication scheme, and requests written in the HTTP instruction
format (``instructions.http``). The parts live in ``connectors.http``; this module declares
the type and its connection test."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from connectors import values
from connectors.catalog import register
from connectors.catalog.base import ConnectorError, ConnectorType, Deadline, Field, Stage, TestResult
from connectors.http import auth as auth_schemes
from connectors.http import fields as shared
from connectors.http.credentials import derived_secrets
from connectors.http.pool import HttpPool
from connectors.http.request import execute as send

STEP_OPTIONS = (
    Field(
        "fail_on_error_status",
        "Fail on an error status",
        "A 4xx or 5xx answer fails the step; off, the step succeeds and its output holds the status.",
        kind="bool",
        default=True,
    ),
    Field(
        "retries",
        "Retries on 429 and 503",
        "How often to send the request again when the server says it is busy (after its Retry-After "
        "when that fits in the step's timeout).",
        kind="int",
        default=0,
        min=0,
        max=5,
    ),
    Field(
        "response_mapping",
        "Response mapping (JSONata)",
        "A JSONata expression over the response (status, headers, body) that becomes the step's output.",
        kind="str",
        default="",
    ),
)


def test_stages(pool: HttpPool, path: str, *, sign_in: bool) -> TestResult:
    """Resolve the host, then one GET of ``path`` with the authentication (a token or a login first)."""
    stages: list[Stage] = []
    session = pool.session
    host = urlsplit(session.base_url).hostname or ""
    started = time.perf_counter()
    try:
        socket.getaddrinfo(host, None)
    except OSError as exc:
        stages.append(Stage("resolve host", False, _ms(started), f"'{host}' cannot be resolved: {exc}"))
        return TestResult(False, stages[-1].message, stages)
    stages.append(Stage("resolve host", True, _ms(started)))
    started = time.perf_counter()
    try:
        output = send(session, {"method": "GET", "path": path}, Deadline(10_000), {"fail_on_error_status": False})
    except ConnectorError as exc:
        stages.append(Stage("request", False, _ms(started), str(exc)))
        return TestResult(False, f"request failed: {exc}", stages)
    status = output["status"]
    name = "authenticate and request" if sign_in else "request"
    if status in (401, 403):
        message = f"GET {path} answered {status}: the server refused the credentials"
        stages.append(Stage(name, False, _ms(started), message))
        return TestResult(False, message, stages)
    if status >= 500:
        message = f"GET {path} answered {status}: the server failed"
        stages.append(Stage(name, False, _ms(started), message))
        return TestResult(False, message, stages)
    stages.append(Stage(name, True, _ms(started), f"answered {status}"))
    return TestResult(True, f"GET {path} answered {status}.", stages)


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


@register
class HttpType(ConnectorType):
    key = "http"
    label = "HTTP / REST API"
    category = "http"
    icon = "http"
    description = "Any HTTP or REST API: JSON or XML, with basic, bearer, API key, OAuth2 or session login."
    language = "http"
    fields = (
        Field(
            "base_url",
            "Base URL",
            "Every request path is appended to it, such as https://api.example.com/v2.",
            kind="url",
            required=True,
            max=2000,
            destination=True,
        ),
        Field(
            "default_headers",
            "Default headers",
            "Headers sent with every request, one 'Name: value' per line; a step's own header wins.",
            kind="text",
        ),
        Field(
            "test_path",
            "Test path",
            "The path the connection test requests with GET.",
            default="/",
            max=500,
        ),
        *shared.auth_fields(),
        *shared.tls_fields(),
        *shared.limit_fields(),
        *shared.concurrency_fields(default=None),
        *shared.network_fields(),
    )
    step_options = STEP_OPTIONS

    def check(self, values: dict) -> dict[str, str]:
        return shared.check_common(values)

    def derived_secrets(self, settings: dict) -> list[str]:
        return derived_secrets(settings)

    def open(self, settings: dict, *, name: str = "erpflow") -> HttpPool:
        base_url = settings["base_url"]
        try:
            scheme = auth_schemes.for_settings(settings, base_url=base_url)
        except ValueError as problem:
            raise ConnectorError(f"authentication settings: {problem}") from None
        secrets = tuple(values.secret_values(type(self), settings))
        return HttpPool(settings, base_url=base_url, auth=scheme, secrets=secrets, name=name)

    def test(self, settings: dict) -> TestResult:
        try:
            pool = self.open(settings, name="erpflow test")
        except ConnectorError as exc:
            return TestResult(False, str(exc), [Stage("prepare", False, 0.0, str(exc))])
        try:
            return test_stages(pool, settings.get("test_path") or "/", sign_in=settings.get("auth_type") != "none")
        finally:
            pool.close()

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        return send(client, params, deadline, options)
