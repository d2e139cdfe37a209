"""What a retry policy retries on: the ``on`` entries, their checks, and the decision for each failure."""

from __future__ import annotations

import pytest

from connectors.catalog.base import (
    RETRY_ON_DEFAULTS,
    ConnectorError,
    Failure,
    PoolExhausted,
    StepTimeout,
    failure_of,
    retry_on,
    retryable,
)
from expressions.budgets import OutOfTime
from expressions.sandbox import ExpressionError


def test_the_defaults_retry_timeouts_connections_busy_servers_and_transaction_conflicts():
    assert retryable(Failure("timeout"))
    assert retryable(Failure("connection"))
    assert [status for status in (429, 500, 502, 503, 504, 404) if retryable(Failure("http_status", status))] == [
        429,
        502,
        503,
        504,
    ]
    assert retryable(Failure("database", db_error="serialization_failure", db_code="40001"))
    assert retryable(Failure("database", db_error="deadlock", db_code="1213"))
    assert not retryable(Failure("database", db_error="unique_violation", db_code="23505"))
    assert not retryable(Failure("database", db_error="lock_timeout", db_code="SQLITE_BUSY"))
    assert not retryable(Failure("sap_message", sap_message="V1/302")), "no SAP message is retried unless named"


def test_a_failure_of_category_other_or_none_is_never_retried():
    assert not retryable(Failure("other"))
    assert not retryable(None)
    assert not retryable(Failure("sap_message"), {"sap_messages": ["V1/*"]}), "a message without class and number"


def test_a_policy_can_switch_categories_off_and_name_its_own_statuses_errors_and_messages():
    on = {
        "timeout": False,
        "http_status": [500],
        "db_errors": ["lock_timeout"],
        "sap_messages": ["v1/2", "/SCWM/ABC/*"],
    }
    assert not retryable(Failure("timeout"), on)
    assert retryable(Failure("connection"), on), "a missing entry keeps its default"
    assert retryable(Failure("http_status", 500), on) and not retryable(Failure("http_status", 503), on)
    assert retryable(Failure("database", db_error="lock_timeout"), on)
    assert not retryable(Failure("database", db_error="deadlock"), on)
    assert retryable(Failure("sap_message", sap_message="V1/002"), on), "V1/2 is V1/002 as BAPIRET2 writes it"
    assert not retryable(Failure("sap_message", sap_message="V1/302"), on)
    assert retryable(Failure("sap_message", sap_message="/SCWM/ABC/017"), on), "a namespaced class and any number"
    assert not retryable(Failure("sap_message", sap_message="/SCWM/ABD/017"), on)


def test_retry_on_fills_the_defaults_and_normalizes_sap_messages():
    values, errors = retry_on({"sap_messages": [" v1/5 ", "F2/*"]})
    assert errors == {}
    assert values == {**RETRY_ON_DEFAULTS, "sap_messages": ["V1/005", "F2/*"]}
    assert retry_on(None) == (RETRY_ON_DEFAULTS, {})


@pytest.mark.parametrize(
    ("on", "name", "words"),
    [
        ("timeout", "on", "must be an object"),
        ({"retry": True}, "retry", "unknown entry (known: timeout, connection, http_status, sap_messages, db_errors)"),
        ({"timeout": "yes"}, "timeout", "must be true or false"),
        ({"http_status": 503}, "http_status", "must be a list"),
        ({"http_status": [503, 200]}, "http_status[1]", "200 is not an HTTP error status"),
        ({"http_status": [True]}, "http_status[0]", "True is not an HTTP error status"),
        ({"db_errors": ["deadlock", "oops"]}, "db_errors[1]", "'oops' is not a database error erpflow tells apart"),
        ({"sap_messages": ["V1-302"]}, "sap_messages[0]", "'V1-302' is not an SAP message as CLASS/NUMBER or CLASS/*"),
        ({"sap_messages": ["V1/1234"]}, "sap_messages[0]", "is not an SAP message"),
        ({"sap_messages": [7]}, "sap_messages[0]", "7 is not an SAP message"),
        ({"http_status": [503] * 101}, "http_status", "at most 100 entries; it holds 101"),
    ],
)
def test_a_bad_entry_is_named_with_what_is_wrong(on, name, words):
    _, errors = retry_on(on)
    assert list(errors) == [name]
    assert words in errors[name]
    with pytest.raises(ValueError, match=name.replace("[", r"\[").replace("]", r"\]")):
        retryable(Failure("timeout"), on)


def test_every_step_error_has_a_failure():
    assert failure_of(StepTimeout("late")) == Failure("timeout")
    assert failure_of(PoolExhausted(3, 3, 100.0)).category == "timeout"
    assert failure_of(OutOfTime("a mapping ran out of time")).category == "timeout"
    assert failure_of(ConnectorError("no idea")) == Failure("other")
    assert failure_of(ExpressionError("bad {{ }}")) == Failure("other")
    given = Failure("http_status", http_status=503, retry_after_s=2.0)
    assert failure_of(ConnectorError("busy", failure=given)) is given


def test_a_failure_records_only_what_it_knows():
    error = ConnectorError("busy", failure=Failure("http_status", http_status=503, retry_after_s=2.0))
    assert error.failure.as_dict() == {"category": "http_status", "http_status": 503, "retry_after_s": 2.0}
    assert ConnectorError("plain").failure is None
