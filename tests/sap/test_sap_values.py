"""Parameter values before a transport sends them: typed numbers kept for RFC, lossless text for SOAP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.catalog.base import ConnectorError
from connectors.sap.values import abap, as_text, parameters


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("0001000001", "0001000001"),
        (1000001, "1000001"),
        (10**30, "1000000000000000000000000000000"),
        (-3, "-3"),
        (12.5, "12.5"),
        (0.1, "0.1"),
        (1e-07, "0.0000001"),
        (1e21, "1000000000000000000000"),
        (100.0, "100"),
        (-0.0, "0"),
        (1.2345678901234567, "1.2345678901234567"),
        (Decimal("2.500"), "2.500"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000001"), "-0.000001"),
        (True, "X"),
        (False, ""),
    ],
)
def test_numbers_become_text_without_losing_anything(value, text):
    assert as_text(value) == text
    if isinstance(value, float):
        assert float(as_text(value)) == value


def test_numbers_stay_typed_for_the_rfc_transport():
    converted = parameters({"N": 7, "F": 2.5, "D": Decimal("2.500"), "T": "0001", "B": True, "S": {"X": 1}}, "Z_F")
    assert converted == {"N": 7, "F": 2.5, "D": Decimal("2.500"), "T": "0001", "B": "X", "S": {"X": 1}}
    assert type(converted["N"]) is int and type(converted["D"]) is Decimal


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")])
def test_a_number_sap_cannot_hold_is_refused_by_name(value):
    with pytest.raises(ConnectorError, match="Z_F AMOUNT: .* not a finite number"):
        abap(value, "Z_F AMOUNT")
