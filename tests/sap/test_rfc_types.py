"""RFC values sent by the ABAP types of the function's interface, read with pyrfc's
``get_function_description`` (the test double of ``tests/sap/test_rfc_double.py``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from connectors.catalog.base import ConnectorError, Deadline
from connectors.sap import calls, sessions
from tests.sap.test_rfc_double import SETTINGS, FunctionDescription, TypeDescription, pyrfc  # noqa: F401

FUNCTION = "Z_TYPES"


def row_type(name, *fields):
    """A TypeDescription of (name, ABAP type, length[, decimals[, nested type]]) fields."""
    description = TypeDescription(name, 0, 0)
    for field_name, kind, length, *rest in fields:
        description.add_field(
            field_name,
            f"RFCTYPE_{kind}",
            length,
            length * 2,
            0,
            0,
            decimals=rest[0] if rest else 0,
            type_description=rest[1] if len(rest) > 1 else None,
        )
    return description


def interface():
    function = FunctionDescription(FUNCTION)
    item = row_type("ZITEM", ("ITM_NUMBER", "NUM", 6), ("MATERIAL", "CHAR", 40), ("QTY", "BCD", 7, 3))
    header = row_type(
        "ZHEADER", ("SOLD_TO", "NUM", 10), ("REQ_DATE", "DATE", 8), ("ADDRESS", "STRUCTURE", 0, 0, row_type("ZADR"))
    )
    for name, kind, length, decimals, nested in (
        ("CUSTOMER", "NUM", 10, 0, None),
        ("NAME", "CHAR", 35, 0, None),
        ("NOTE", "STRING", 0, 0, None),
        ("COUNT", "INT", 4, 0, None),
        ("SMALL", "INT1", 1, 0, None),
        ("BIG", "INT8", 8, 0, None),
        ("AMOUNT", "BCD", 8, 2, None),
        ("RATE", "FLOAT", 8, 0, None),
        ("DOC_DATE", "DATE", 8, 0, None),
        ("DOC_TIME", "TIME", 6, 0, None),
        ("BLOB", "BYTE", 4, 0, None),
        ("DATA", "XSTRING", 0, 0, None),
        ("HEADER", "STRUCTURE", 0, 0, header),
        ("ITEMS", "TABLE", 0, 0, item),
        ("IDS", "TABLE", 0, 0, row_type("ZIDS", ("", "NUM", 10))),
    ):
        kind = f"RFCTYPE_{kind}"
        function.add_parameter(name, kind, "RFC_IMPORT", length, length * 2, decimals, type_description=nested)
    return function


@pytest.fixture
def typed(pyrfc):  # noqa: F811 - the double's fixture, used here
    pyrfc.descriptions[FUNCTION] = interface()
    pyrfc.functions[FUNCTION] = lambda conn, params: {}
    return pyrfc


def sent(module, parameters: dict) -> dict:
    session = sessions.open_session(SETTINGS, 5)
    calls.run(session, [{"function": FUNCTION, "parameters": parameters}], Deadline(5000), {})
    return module.calls[-1][1]


def test_each_value_goes_as_the_type_of_its_parameter(typed):
    assert sent(
        typed,
        {
            "CUSTOMER": 1000001,
            "NAME": 4711,
            "NOTE": 1.5,
            "COUNT": "42",
            "SMALL": 7,
            "BIG": -(2**40),
            "AMOUNT": "12.50",
            "RATE": "0.25",
            "DOC_DATE": "2024-02-29",
            "DOC_TIME": "13:05:09",
            "BLOB": "AAEC",
            "DATA": "aGVsbG8=",
            "HEADER": {"SOLD_TO": "1000001", "REQ_DATE": "20240301", "ADDRESS": {"CITY": "Walldorf"}},
            "ITEMS": [{"ITM_NUMBER": 10, "MATERIAL": 100, "QTY": 2}],
            "IDS": [1, "0000000002"],
            "UNKNOWN": 5,
        },
    ) == {
        "CUSTOMER": "0001000001",
        "NAME": "4711",
        "NOTE": "1.5",
        "COUNT": 42,
        "SMALL": 7,
        "BIG": -(2**40),
        "AMOUNT": Decimal("12.50"),
        "RATE": 0.25,
        "DOC_DATE": "20240229",
        "DOC_TIME": "130509",
        "BLOB": b"\x00\x01\x02",
        "DATA": b"hello",
        "HEADER": {"SOLD_TO": "0001000001", "REQ_DATE": "20240301", "ADDRESS": {"CITY": "Walldorf"}},
        "ITEMS": [{"ITM_NUMBER": "000010", "MATERIAL": "100", "QTY": Decimal("2")}],
        "IDS": ["0000000001", "0000000002"],
        "UNKNOWN": 5,
    }


def test_leading_zeros_written_as_text_are_kept_and_dates_and_times_in_sap_form_pass(typed):
    assert sent(typed, {"CUSTOMER": "0001000001", "DOC_DATE": "20240229", "DOC_TIME": "235959"}) == {
        "CUSTOMER": "0001000001",
        "DOC_DATE": "20240229",
        "DOC_TIME": "235959",
    }


def test_python_dates_times_and_decimals_are_taken_too():
    from connectors.sap import rfctypes

    specs = rfctypes.interface(interface())
    converted = rfctypes.convert(
        specs, {"DOC_DATE": dt.date(2024, 1, 2), "DOC_TIME": dt.time(7, 8, 9), "AMOUNT": Decimal("-1.5")}, "Z"
    )
    assert converted == {"DOC_DATE": "20240102", "DOC_TIME": "070809", "AMOUNT": Decimal("-1.5")}


@pytest.mark.parametrize(
    ("parameter", "value", "message"),
    [
        ("CUSTOMER", "10000A", "Z_TYPES CUSTOMER: '10000A' is not a NUMC 10 value"),
        ("CUSTOMER", "12345678901", "Z_TYPES CUSTOMER: '12345678901' is not a NUMC 10 value"),
        ("CUSTOMER", -1, "is not a NUMC 10 value"),
        ("COUNT", "4.5", "Z_TYPES COUNT: '4.5' is not an integer for INT"),
        ("COUNT", 2**31, "is not an integer for INT"),
        ("SMALL", 256, "Z_TYPES SMALL: '256' is not an integer for INT1 \\(0 to 255\\)"),
        ("COUNT", True, "is not an integer"),
        ("AMOUNT", "1.234", "Z_TYPES AMOUNT: '1.234' is not a packed number of 15 digits with 2 decimals"),
        ("AMOUNT", "12345678901234", "is not a packed number of 15 digits"),
        ("AMOUNT", "ten", "is not a packed number"),
        ("RATE", "fast", "Z_TYPES RATE: 'fast' is not a number for a FLTP field"),
        ("DOC_DATE", "2024-02-30", "Z_TYPES DOC_DATE: '2024-02-30' is not a date"),
        ("DOC_DATE", "29.02.2024", "is not a date"),
        ("DOC_TIME", "25:00:00", "Z_TYPES DOC_TIME: '25:00:00' is not a time"),
        ("BLOB", "not base64!", "Z_TYPES BLOB: 'not base64!' is not binary data for BYTE"),
        ("BLOB", "AAECAwQ=", "is not at most 4 bytes of RAW data"),
        ("NAME", {"A": 1}, "is not text for a CHAR field"),
        ("HEADER", "x", "Z_TYPES HEADER: 'x' is not a structure"),
        ("ITEMS", {"ITM_NUMBER": 1}, "is not a table"),
    ],
)
def test_a_value_its_type_cannot_hold_is_refused_naming_function_parameter_and_value(typed, parameter, value, message):
    with pytest.raises(ConnectorError, match=message):
        sent(typed, {parameter: value})
    assert typed.calls == [], "nothing is sent when a value is refused"


def test_fields_of_structures_and_table_rows_are_named_in_a_refusal(typed):
    with pytest.raises(ConnectorError, match="Z_TYPES HEADER-SOLD_TO: 'A1' is not a NUMC 10"):
        sent(typed, {"HEADER": {"SOLD_TO": "A1"}})
    with pytest.raises(ConnectorError, match=r"Z_TYPES ITEMS\[2\]-QTY: 'x' is not a packed number of 13 digits"):
        sent(typed, {"ITEMS": [{"QTY": 1}, {"QTY": "x"}]})


def test_the_interface_is_read_once_per_pool_and_again_for_a_new_pool(typed):
    settings = {**SETTINGS, "max_pool": 2}
    for _ in range(2):
        pool = sessions.open_pool(settings, name="test")
        try:
            with pool.connection(Deadline(5000)) as first, pool.connection(Deadline(5000)) as second:
                for session in (first, second, first):
                    calls.run(session, [{"function": FUNCTION, "parameters": {"CUSTOMER": 7}}], Deadline(5000), {})
        finally:
            pool.close()
    assert typed.described == [FUNCTION, FUNCTION]
    assert [params["CUSTOMER"] for _, params in typed.calls] == ["0000000007"] * 6


def test_a_function_the_system_does_not_describe_gets_its_values_as_written(pyrfc):  # noqa: F811
    pyrfc.functions["Z_UNDESCRIBED"] = lambda conn, params: {}
    session = sessions.open_session(SETTINGS, 5)
    calls.run(session, [{"function": "Z_UNDESCRIBED", "parameters": {"CUSTOMER": 7}}], Deadline(5000), {})
    calls.run(session, [{"function": "Z_UNDESCRIBED", "parameters": {"CUSTOMER": 8}}], Deadline(5000), {})
    assert [params for _, params in pyrfc.calls] == [{"CUSTOMER": 7}, {"CUSTOMER": 8}]
    assert pyrfc.described == ["Z_UNDESCRIBED"], "a refusal is remembered, not asked again each call"


def test_decimals_bytes_and_dates_in_the_answer_become_json_values(typed):
    typed.functions[FUNCTION] = lambda conn, params: {
        "AMOUNT": Decimal("12.50"),
        "DATA": b"hello",
        "ITEMS": [{"DAY": dt.date(2024, 2, 29), "AT": dt.time(7, 8, 9)}],
    }
    session = sessions.open_session(SETTINGS, 5)
    output = calls.run(session, [{"function": FUNCTION}], Deadline(5000), {})
    assert output["export"] == {"AMOUNT": "12.50", "DATA": "aGVsbG8="}
    assert output["tables"] == {"ITEMS": [{"DAY": "20240229", "AT": "070809"}]}
