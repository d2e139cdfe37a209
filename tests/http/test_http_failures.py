"""What a failed HTTP call tells a retry policy: the status and its ``Retry-After``, or a connection
that could not be made, against the real test server on 127.0.0.1 (and a port nothing listens on)."""

from __future__ import annotations

import datetime
import email.utils

import httpx
import pytest

from connectors import runtime
from connectors.catalog.base import ConnectorError, Deadline, Failure, StepTimeout, retryable
from connectors.http.response import MAX_RETRY_AFTER_S, retry_after
from instructions.http import render
from tests.connectors.conftest import closed_port
from tests.http import server as srv

pytestmark = pytest.mark.django_db


def call(connector, sandbox, text: str, timeout_ms: int = 5000, **options):
    rendered = render(text, {})
    return runtime.call(connector, sandbox, rendered.text, rendered.params, Deadline(timeout_ms), options)


def test_a_503_with_retry_after_in_seconds_fails_with_its_status_and_wait(http_connector, sandbox, api_server):
    api_server.state.retry_after = "2"
    with pytest.raises(ConnectorError, match="GET /status/503 answered 503") as raised:
        call(http_connector(), sandbox, "GET /status/503")
    assert raised.value.failure == Failure("http_status", http_status=503, retry_after_s=2.0)
    assert retryable(raised.value.failure)
    assert api_server.state.status_calls == 1, "the step's own retries are off by default"


def test_retry_after_as_an_http_date_is_the_seconds_until_then(http_connector, sandbox, api_server):
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30)
    api_server.state.retry_after = email.utils.format_datetime(later, usegmt=True)
    with pytest.raises(ConnectorError) as raised:
        call(http_connector(), sandbox, "GET /status/429")
    failure = raised.value.failure
    assert (failure.category, failure.http_status) == ("http_status", 429)
    assert 25 <= failure.retry_after_s <= 30


def test_an_error_status_without_retry_after_is_not_retried_by_default(http_connector, sandbox, api_server):
    with pytest.raises(ConnectorError) as raised:
        call(http_connector(), sandbox, "GET /status/404")
    assert raised.value.failure == Failure("http_status", http_status=404)
    assert not retryable(raised.value.failure)
    assert retryable(raised.value.failure, {"http_status": [404]})


def test_an_error_status_the_step_lets_through_is_no_failure(http_connector, sandbox, api_server):
    output = call(http_connector(), sandbox, "GET /status/503", fail_on_error_status=False)
    assert output["status"] == 503


def test_a_closed_port_is_a_connection_failure(http_connector, sandbox):
    connector = http_connector({"base_url": f"http://127.0.0.1:{closed_port()}"})
    with pytest.raises(ConnectorError, match="could not connect to 127.0.0.1") as raised:
        call(connector, sandbox, "GET /anything")
    assert not isinstance(raised.value, StepTimeout)
    assert raised.value.failure == Failure("connection")
    assert retryable(raised.value.failure) and not retryable(raised.value.failure, {"connection": False})


def test_a_name_that_does_not_resolve_is_a_connection_failure(http_connector, sandbox):
    connector = http_connector({"base_url": "http://no-such-host.invalid", "allowed_hosts": "no-such-host.invalid"})
    with pytest.raises(ConnectorError, match="cannot be resolved") as raised:
        call(connector, sandbox, "GET /anything")
    assert raised.value.failure.category == "connection"


def test_a_slow_answer_is_a_timeout(http_connector, sandbox, api_server):
    api_server.state.slow_seconds = 2
    with pytest.raises(StepTimeout) as raised:
        call(http_connector(), sandbox, "GET /slow", timeout_ms=300)
    assert raised.value.failure == Failure("timeout")


def test_a_token_endpoint_answering_503_fails_the_call_with_that_status(http_connector, sandbox, api_server):
    api_server.state.retry_after = "7"
    connector = http_connector(
        {
            "auth_type": "oauth2_client_credentials",
            "oauth_token_url": f"{api_server.url}/status/503",
            "oauth_client_id": srv.CLIENT_ID,
            "oauth_client_secret": srv.CLIENT_SECRET,
        }
    )
    with pytest.raises(ConnectorError, match="the OAuth2 token endpoint answered 503") as raised:
        call(connector, sandbox, "GET /oauth/orders")
    assert raised.value.failure == Failure("http_status", http_status=503, retry_after_s=7.0)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("120", 120.0),
        ("999999", MAX_RETRY_AFTER_S),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_retry_after_reads_seconds_and_dates_and_caps_the_wait(value, seconds):
    headers = httpx.Headers({"Retry-After": value} if value else {})
    assert retry_after(headers) == seconds


def test_retry_after_far_in_the_future_is_capped():
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    headers = httpx.Headers({"Retry-After": "Fri, 02 Jan 2026 00:00:30 GMT"})
    assert retry_after(headers, now) == MAX_RETRY_AFTER_S
    headers = httpx.Headers({"Retry-After": "Thu, 01 Jan 2026 00:00:30 GMT"})
    assert retry_after(headers, now) == 30.0
