"""The BAPI language keeps what was written: bare words and numbers as text (leading zeros kept),
``{{ }}`` inside strings, raw single-quoted strings, aliases, and every recoverable error reported."""

from __future__ import annotations

import pytest

from instructions import check
from instructions.bapi import BapiSyntaxError, Call, format_calls, parse
from instructions.render import render_instruction


def context(payload):
    return {"env": {}, "trigger": {"payload": payload, "headers": {}, "query": {}}, "steps": {}, "execution": {}}


def params(text, payload=None):
    (call,) = render_instruction("bapi", None, text, context(payload or {})).params["calls"]
    return call["parameters"]


def test_seed_syntax_with_bare_words_is_accepted():
    text = "CALL FUNCTION RFC_READ_TABLE: [ (QUERY_TABLE: T001), (FIELDS: [ (FIELDNAME: BUKRS) ]) ]"
    assert parse(text) == [Call("RFC_READ_TABLE", {"QUERY_TABLE": "T001", "FIELDS": [{"FIELDNAME": "BUKRS"}]})]
    assert check("bapi", text) == []


def test_bare_numbers_stay_text_exactly_as_written():
    text = "CALL FUNCTION X: [(CUSTOMERNO: 0001000001, AMOUNT: 12.50, DELTA: -3, DATE: 2024-01-31, E: 1.5e3)]"
    assert params(text) == {
        "CUSTOMERNO": "0001000001",
        "AMOUNT": "12.50",
        "DELTA": "-3",
        "DATE": "2024-01-31",
        "E": "1.5e3",
    }


def test_keywords_are_bare_and_quotes_make_them_text():
    assert params("CALL FUNCTION X: [(A: TRUE, B: false, C: Null, D: 'true', E: \"NULL\")]") == {
        "A": True,
        "B": False,
        "C": None,
        "D": "true",
        "E": "NULL",
    }


def test_a_whole_value_expression_keeps_its_type():
    got = params(
        "CALL FUNCTION X: [(N: {{ trigger.payload.n }}, F: {{ trigger.payload.f }}, T: {{ trigger.payload.rows }})]",
        {"n": 7, "f": 2.5, "rows": [{"A": 1}]},
    )
    assert got == {"N": 7, "F": 2.5, "T": [{"A": 1}]}
    assert type(got["N"]) is int


def test_expressions_inside_strings_are_interpolated_as_text():
    got = params(
        """CALL FUNCTION X: [(TEXT: "Order for {{ trigger.payload.name }} ({{ trigger.payload.n }})", """
        """RAW: 'at {{ trigger.payload.name }}', ESC: "\\{{ not an expression }}")]""",
        {"name": "ACME", "n": 3},
    )
    assert got == {"TEXT": "Order for ACME (3)", "RAW": "at ACME", "ESC": "{{ not an expression }}"}


def test_an_expression_error_inside_a_string_is_reported_where_it_is():
    (problem,) = check("bapi", 'CALL FUNCTION X: [\n  (TEXT: "a {{ trigger. }} b")\n]')
    assert (problem.line, problem.column) == (2, 13)
    assert "not a valid expression" in problem.message


def test_single_quoted_strings_are_raw_and_double_quotes_take_escapes():
    got = params("CALL FUNCTION X: [(P: 'C:\\temp\\new', Q: 'it''s', R: \"a\\tb\\\\c\\\"d\\'e\\u00e9\")]")
    assert got == {"P": "C:\\temp\\new", "Q": "it's", "R": "a\tb\\c\"d'eé"}


def test_an_unknown_escape_is_an_error_at_its_place():
    (problem,) = check("bapi", 'CALL FUNCTION X: [\n  (P: "C:\\quux")]')
    assert (problem.line, problem.column) == (2, 10)
    assert "unknown escape \\q" in problem.message


def test_aliases_are_rendered_and_written_back():
    text = "CALL FUNCTION BAPI_X AS created: [(A: 1)]\nCALL FUNCTION BAPI_TRANSACTION_COMMIT: [(WAIT: X)]"
    calls = parse(text)
    assert calls == [Call("BAPI_X", {"A": "1"}, "created"), Call("BAPI_TRANSACTION_COMMIT", {"WAIT": "X"})]
    assert parse(format_calls(calls)) == calls
    assert "AS created:" in format_calls(calls)
    rendered = render_instruction("bapi", None, text, context({})).params["calls"]
    assert [(c["function"], c["alias"]) for c in rendered] == [("BAPI_X", "created"), ("BAPI_TRANSACTION_COMMIT", None)]


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("CALL FUNCTION A AS x: []\nCALL FUNCTION B AS x: []", 2, 20, "the alias x is already used"),
        ("CALL FUNCTION A AS messages: []", 1, 20, "reserved"),
        ("CALL FUNCTION A AS Calls: []", 1, 20, "reserved"),
        ("CALL FUNCTION A AS 1x: []", 1, 20, "an alias after AS"),
    ],
)
def test_bad_aliases_are_refused_where_they_are(text, line, column, words):
    (problem,) = check("bapi", text)
    assert (problem.line, problem.column) == (line, column) and words in problem.message
    with pytest.raises(BapiSyntaxError):
        parse(text)


def test_the_checker_reports_every_recoverable_error():
    text = (
        "CALL FUNCTION A: [\n"
        "  (X 1),\n"  # 2,6: ':' expected
        "  (Y: |),\n"  # 3,7: '|' must be quoted
        "  (Z: ok)\n"
        "]\n"
        "CALL FUNCTION: []\n"  # 6,14: a name expected
        'CALL FUNCTION C: [(P: "\\q", Q: "\\w")]\n'  # 7,24 and 7,33: unknown escapes
    )
    problems = check("bapi", text)
    assert [(p.line, p.column) for p in problems] == [(2, 6), (3, 7), (6, 14), (7, 24), (7, 33)]
    escapes = [p.message for p in problems if "escape" in p.message]
    assert "single quotes" in escapes[0] and "single quotes" not in escapes[1], "advice is given once"


def test_an_unclosed_bracket_is_reported_where_it_opened():
    (problem,) = check("bapi", "CALL FUNCTION A: [\n  (X: 1),\n  (Y: 2)\n")
    assert (problem.line, problem.column) == (1, 18)
    assert problem.message == "the '[' opened here is never closed; the instruction ends at line 3, column 9"
