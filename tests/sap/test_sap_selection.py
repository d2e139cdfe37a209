"""Selecting a call's outputs, ``IMPORTING [..] CHANGING [..] TABLES [..] RETURNING [..]``: the language
(parse, check, write back, render), RFC not fetching the others (pyrfc's ``not_requested`` option, over
the double), and SOAP dropping them (against mock-sap)."""

from __future__ import annotations

import pytest

from connectors.catalog.base import ConnectorError, Deadline
from connectors.sap import calls, sessions, soap
from instructions.bapi import check, format_calls, parse, render
from tests.sap.test_rfc_double import SETTINGS, FunctionDescription, TypeDescription, pyrfc  # noqa: F401

READ = (
    "CALL FUNCTION RFC_READ_TABLE: [(QUERY_TABLE: T001), (FIELDS: [(FIELDNAME: BUKRS)])]"
    " IMPORTING [NUMBER_OF_ROWS] tables [FIELDS]"
)


def test_sections_parse_render_and_write_back():
    (call,) = parse(READ + ".")
    assert call.select == {"importing": ("NUMBER_OF_ROWS",), "tables": ("FIELDS",)}
    assert parse(format_calls([call])) == [call]
    assert format_calls([call]).endswith("] IMPORTING [NUMBER_OF_ROWS] TABLES [FIELDS]")
    (rendered,) = render(READ, {}).params["calls"]
    assert rendered["select"] == {"importing": ["NUMBER_OF_ROWS"], "tables": ["FIELDS"]}
    assert "select" not in render("CALL FUNCTION X: []", {}).params["calls"][0]


def test_the_checker_names_bad_sections_at_their_place():
    text = "CALL FUNCTION X: [] TABLES [] RETURNING [A, A] IMPORTING [B C]\nCALL FUNCTION Y: [] TABLES [D] TABLES [E]"
    assert [(p.line, p.column, p.message) for p in check(text)] == [
        (1, 21, "TABLES [] selects nothing; name an output"),
        (1, 45, "the parameter A is selected twice"),
        (1, 61, "expected ',' or ']' after a selected parameter, found 'C'"),
        (2, 32, "TABLES is given twice in this call"),
    ]


def read_table_description() -> FunctionDescription:
    message = TypeDescription("BAPIRET2", 0, 0)
    for name in ("TYPE", "MESSAGE"):
        message.add_field(name, "RFCTYPE_CHAR", 10, 20, 0, 0)
    function = FunctionDescription("RFC_READ_TABLE")
    function.add_parameter("QUERY_TABLE", "RFCTYPE_CHAR", "RFC_IMPORT", 30, 60)
    function.add_parameter("NUMBER_OF_ROWS", "RFCTYPE_INT", "RFC_EXPORT", 4, 4)
    function.add_parameter("ET_RETURN", "RFCTYPE_TABLE", "RFC_TABLES", 0, 0, type_description=message)
    function.add_parameter("FIELDS", "RFCTYPE_TABLE", "RFC_TABLES", 0, 0)
    function.add_parameter("DATA", "RFCTYPE_TABLE", "RFC_TABLES", 0, 0)
    function.add_parameter("OPTIONS", "RFCTYPE_TABLE", "RFC_TABLES", 0, 0)
    return function


def test_rfc_does_not_fetch_unselected_outputs_and_the_result_holds_only_the_selected(pyrfc):  # noqa: F811
    pyrfc.descriptions["RFC_READ_TABLE"] = read_table_description()
    pyrfc.functions["RFC_READ_TABLE"] = lambda conn, p: {
        "NUMBER_OF_ROWS": 1,
        "FIELDS": p.get("FIELDS", []),
        "OPTIONS": [],
        "ET_RETURN": [{"TYPE": "S", "MESSAGE": "read"}],
        **(
            {} if "DATA" in (pyrfc.options[-1] or {}).get("not_requested", ()) else {"DATA": [{"WA": "x" * 512}] * 1000}
        ),
    }
    session = sessions.open_session(SETTINGS, 5)
    output = calls.run(session, render(READ, {}).params["calls"], Deadline(5000), {})
    assert pyrfc.options[-1] == {"not_requested": ["DATA", "OPTIONS"]}  # FIELDS is sent, ET_RETURN holds messages
    assert output == {
        "export": {"NUMBER_OF_ROWS": 1},
        "changing": {},
        "tables": {"FIELDS": [{"FIELDNAME": "BUKRS"}]},
        "messages": [{"TYPE": "S", "MESSAGE": "read"}],
    }

    calls.run(session, render("CALL FUNCTION RFC_READ_TABLE: []", {}).params["calls"], Deadline(5000), {})
    assert pyrfc.options[-1] is None  # without sections, everything is fetched, as before


def test_a_selected_output_the_function_does_not_return_is_named(pyrfc):  # noqa: F811
    pyrfc.functions["Z_X"] = lambda conn, p: {"A": "1"}
    session = sessions.open_session(SETTINGS, 5)
    with pytest.raises(ConnectorError, match=r"Z_X returned no parameter B \(selected under RETURNING\)"):
        calls.run(session, render("CALL FUNCTION Z_X: [] RETURNING [B]", {}).params["calls"], Deadline(5000), {})


def test_soap_drops_unselected_outputs_and_an_empty_selected_table_is_a_table(mock_sap):
    session = soap.SoapSession(
        {"soap_url": mock_sap.soap_url, "client": "100", "user": mock_sap.user, "passwd": mock_sap.password},
        connect_timeout=5,
    )
    text = """CALL FUNCTION RFC_READ_TABLE: [
      (QUERY_TABLE: "A_SalesOrder"), (DELIMITER: ";"), (ROWCOUNT: 3), (FIELDS: [(FIELDNAME: "SalesOrder")])
    ] TABLES [DATA]"""
    try:
        output = calls.run(session, render(text, {}).params["calls"], Deadline(5000), {})
        everything = calls.run(session, render(text.split("] TABLES")[0] + "]", {}).params["calls"], Deadline(5000), {})
    finally:
        session.close()
    assert list(output["tables"]) == ["DATA"] and len(output["tables"]["DATA"]) == 3
    assert output["export"] == {} and output["changing"] == {}
    assert set(everything["tables"]) > {"DATA"}  # what the sections left out
