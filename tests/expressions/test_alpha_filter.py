"""The ``alpha(n)`` filter: SAP's ALPHA input conversion, so a customer number from a payload gets its zeros."""

from __future__ import annotations

import pytest

from expressions.sandbox import ExpressionError, evaluate


def context(payload):
    return {"env": {}, "trigger": {"payload": payload, "headers": {}, "query": {}}, "steps": {}, "execution": {}}


@pytest.mark.parametrize(
    ("value", "n", "expected"),
    [
        ("1000001", 10, "0001000001"),
        (1000001, 10, "0001000001"),
        ("0001000001", 10, "0001000001"),
        ("42", 1, "42"),  # longer than n: left as it is, never cut
        ("A-100", 10, "A-100"),  # not only digits: SAP leaves it as it is
        ("12 3", 10, "12 3"),
        ("", 10, ""),
        ("7", 64, "0" * 63 + "7"),
    ],
)
def test_digits_are_left_padded_with_zeros_and_anything_else_is_kept(value, n, expected):
    assert evaluate(f"trigger.payload.customer | alpha({n})", context({"customer": value})) == expected


@pytest.mark.parametrize("n", ["0", "65", "-1", "'10'", "2.5"])
def test_a_length_outside_1_to_64_is_an_expression_error(n):
    with pytest.raises(ExpressionError, match=r"alpha\(n\) needs a whole number n from 1 to 64"):
        evaluate(f"trigger.payload.customer | alpha({n})", context({"customer": "1"}))


@pytest.mark.parametrize("value", [True, 2.5, None, [1]])
def test_a_value_that_is_not_text_or_a_whole_number_is_refused(value):
    with pytest.raises(ExpressionError, match="alpha takes text or a whole number"):
        evaluate("trigger.payload.customer | alpha(10)", context({"customer": value}))


def test_it_works_in_a_bapi_instruction():
    from instructions.render import render_instruction

    text = "CALL FUNCTION BAPI_CUSTOMER_GETDETAIL2: [(CUSTOMERNO: {{ trigger.payload.customer | alpha(10) }})]"
    (call,) = render_instruction("bapi", None, text, context({"customer": 1000001})).params["calls"]
    assert call["parameters"] == {"CUSTOMERNO": "0001000001"}
