"""Sending one rendered request inside a step's deadline, and turning the answer into the step's output.

The request comes from ``instructions.http`` (``params``: method, path, query, headers,
body). The time limit of every phase (waiting for a pooled connection, connecting, sending,
reading) is what is left of the deadline, capped by the connector's request timeout; the body is
read in chunks and the deadline and size cap are checked after each, so a slow or endless answer
is cut off and its connection closed, not abandoned. 429 and 503 (the server did not process the
call) are retried when the step asks for it, after ``Retry-After`` if that fits in the deadline.
A failure carries what a retry policy needs (``Failure``): an error status with its ``Retry-After``,
or a connection that could not be opened or broke off.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx

from connectors.catalog.base import CONNECTION, ConnectorError, Deadline, Failure, StepTimeout
from connectors.http.auth import excerpt, join
from connectors.http.pool import Session
from connectors.http.response import output, status_failure
from core.masking import Masker, is_sensitive, real
from expressions.mapping import MappingTimeout, evaluate_mapping

RETRYABLE = {429, 503}
FIRST_BACKOFF = 0.2


def execute(session: Session, params: dict, deadline: Deadline, options: dict) -> dict:
    method, path = params["method"], params["path"]
    where = f"{method} {path}"
    attempts = 1 + int(options.get("retries") or 0)
    for attempt in range(1, attempts + 1):
        try:
            status, result, answered = _once(session, params, deadline, where)
        except ConnectorError as exc:  # a token request's or a login's answer may repeat what it was sent
            exc.args = (_without_credentials(session, params, str(exc)),)
            raise
        if status not in RETRYABLE or attempt == attempts:
            break
        pause = answered.retry_after_s or 0.0
        if pause >= deadline.remaining():
            break
        time.sleep(pause if pause > 0 else FIRST_BACKOFF * 2 ** (attempt - 1))
    if status >= 400 and options.get("fail_on_error_status", True):
        shown = _without_credentials(session, params, result["excerpt"])
        raise ConnectorError(f"{where} answered {status}: {shown}", failure=answered)
    result.pop("excerpt")
    result = _without_credentials(session, params, result)
    mapping = options.get("response_mapping") or ""
    if mapping.strip():
        try:
            return evaluate_mapping(mapping, result, max(1, deadline.remaining_ms()))
        except MappingTimeout as exc:
            raise StepTimeout(str(exc)) from None
    return result


def _once(session: Session, params: dict, deadline: Deadline, where: str) -> tuple[int, dict, Failure]:
    """(status, output with a text excerpt of the body, the answer as a failure: status and ``Retry-After``)."""
    settings = session.settings
    left = min(deadline.remaining(), settings.get("timeout_cap_ms", 30_000) / 1000)
    if left <= 0:
        raise StepTimeout(f"the step's timeout ran out before {where} could be sent")
    request = session.client.build_request(
        params["method"],
        join(session.base_url, params["path"]),
        params=real(params.get("query")),
        headers=_headers(session, params),
        content=_content(params),
        timeout=httpx.Timeout(left),
    )
    limit = int(settings.get("max_response_bytes") or 10 * 1024 * 1024)
    try:
        response = session.client.send(request, stream=True, auth=session.auth)
        try:
            content = _read(response, deadline, limit, where)
        finally:
            response.close()
    except httpx.PoolTimeout:
        raise StepTimeout(
            f"no free connection to the server within the step's timeout: all {settings.get('max_pool')} "
            "connections of this worker are in use"
        ) from None
    except httpx.TimeoutException:
        raise StepTimeout(f"{where}: the server did not answer within the step's timeout") from None
    except httpx.TooManyRedirects:
        raise ConnectorError(f"{where}: more than 5 redirects") from None
    except httpx.ConnectError as exc:
        raise ConnectorError(f"{where}: could not connect to {request.url.host}: {exc}", failure=CONNECTION) from None
    except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:  # reset, or closed without an answer
        raise ConnectorError(f"{where} failed: {type(exc).__name__}: {exc}", failure=CONNECTION) from None
    except httpx.HTTPError as exc:
        raise ConnectorError(f"{where} failed: {type(exc).__name__}: {exc}") from None
    result = output(response, content)
    result["excerpt"] = excerpt(httpx.Response(response.status_code, content=content[:2000]))
    return response.status_code, result, status_failure(response)


def _without_credentials(session: Session, params: dict, value: Any) -> Any:
    """``value`` with every credential masked: the connector's, and those the request itself carried in a
    sensitive header or query parameter (the whole value, and its part after a scheme or cookie name),
    in every form they travel in."""
    sent = []
    for name, given in real(params.get("headers")) + real(params.get("query")):
        if is_sensitive(name) and given:
            sent += [given, given.split(" ", 1)[-1], given.split("=", 1)[-1]]
    return Masker(session.credentials() + [s for s in sent if len(s) >= 6]).value(value)


def _read(response: httpx.Response, deadline: Deadline, limit: int, where: str) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ConnectorError(f"{where}: the response ({declared} bytes) is larger than the size cap of {limit} bytes")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ConnectorError(f"{where}: the response is larger than the size cap of {limit} bytes")
        if deadline.expired:
            raise StepTimeout(f"{where}: the response was still arriving when the step's timeout ran out")
        chunks.append(chunk)
    return b"".join(chunks)


def _headers(session: Session, params: dict) -> list[tuple[str, str]]:
    given = real(params.get("headers"))
    named = {name.lower() for name, _ in given}
    headers = [(n, v) for n, v in session.default_headers if n.lower() not in named] + given
    kind = params.get("body_format")
    if kind and "content-type" not in named:
        headers.append(("Content-Type", "application/json" if kind == "json" else "application/xml"))
    return headers


def _content(params: dict) -> bytes | None:
    body: Any = params.get("body")
    kind = params.get("body_format")
    if kind is None:
        return None
    if kind == "json":
        return json.dumps(body, ensure_ascii=False).encode()
    return str(body).encode()
