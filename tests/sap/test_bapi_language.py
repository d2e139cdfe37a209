"""The CALL FUNCTION language: parsing, errors with line and column, round-trip, typed rendering.

Values written in an instruction are text as written (a bare 5 is "5", 2.500 is "2.500"); these tests
asserted ints and Decimals before, which lost leading zeros and was the transport's job."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expressions.sandbox import ExpressionError
from instructions import check
from instructions.bapi import BapiSyntaxError, Call, Expr, Text, format_calls, parse
from instructions.render import render_instruction

STFC = 'CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: "Hello SAP")]'
READ_TABLE = """
CALL FUNCTION RFC_READ_TABLE: [
  (QUERY_TABLE: "T001"),
  (DELIMITER: ";"),
  (ROWCOUNT: 5),
  (FIELDS: [(FIELDNAME: "BUKRS"), (FIELDNAME: "BUTXT")])
]
"""
SALES_ORDER = """
* create an order, then commit it on the same session
CALL FUNCTION BAPI_SALESORDER_CREATEFROMDAT2: [
  (ORDER_HEADER_IN: (DOC_TYPE: "OR", SALES_ORG: "1710", DISTR_CHAN: "10", DIVISION: "00")),
  (ORDER_ITEMS_IN: [
    (ITM_NUMBER: "000010", MATERIAL: {{ trigger.payload.material }}, TARGET_QTY: 2.500)
  ]),
  (ORDER_PARTNERS: [(PARTN_ROLE: "AG", PARTN_NUMB: "0001000001")])
]
CALL FUNCTION BAPI_TRANSACTION_COMMIT: [(WAIT: "X")]
"""
CUSTOMER = 'call function bapi_customer_getdetail2: [ (CUSTOMERNO: "0001000001") ]'


def test_the_first_examples_parse_into_typed_calls():
    assert parse(STFC) == [Call("STFC_CONNECTION", {"REQUTEXT": "Hello SAP"})]
    assert parse(READ_TABLE) == [
        Call(
            "RFC_READ_TABLE",
            {
                "QUERY_TABLE": "T001",
                "DELIMITER": ";",
                "ROWCOUNT": "5",
                "FIELDS": [{"FIELDNAME": "BUKRS"}, {"FIELDNAME": "BUTXT"}],
            },
        )
    ]
    order, commit = parse(SALES_ORDER)
    assert order.params["ORDER_HEADER_IN"]["SALES_ORG"] == "1710"
    item = order.params["ORDER_ITEMS_IN"][0]
    assert item["MATERIAL"] == Expr(" trigger.payload.material ")
    assert item["TARGET_QTY"] == "2.500"
    assert commit == Call("BAPI_TRANSACTION_COMMIT", {"WAIT": "X"})
    assert parse(CUSTOMER) == [Call("BAPI_CUSTOMER_GETDETAIL2", {"CUSTOMERNO": "0001000001"})]
    assert parse("CALL FUNCTION STFC_CONNECTION: []") == [Call("STFC_CONNECTION", {})]


def test_values_of_every_kind_and_layout_freedom():
    text = """call   Function  Z_TEST:[ # a comment after code
        (A: 'it''s', B: "tab\\tand \\u00e9"),(C: -7),(D: 1.5e3),
        (E: true, F: FALSE, G: null, H: ),
      (S: (X: (Y: "deep"))), (T: []), (L: ["a", 1]),
    ] ."""
    (call,) = parse(text)
    assert call.function == "Z_TEST"
    assert call.params == {
        "A": "it's",
        "B": "tab\tand é",
        "C": "-7",
        "D": "1.5e3",
        "E": True,
        "F": False,
        "G": None,
        "H": None,
        "S": {"X": {"Y": "deep"}},
        "T": [],
        "L": ["a", "1"],
    }


def test_namespaced_names_are_kept():
    (call,) = parse('CALL FUNCTION /BODS/RFC_READ_TABLE2: [(/NS/PARAM: "x")]')
    assert call.function == "/BODS/RFC_READ_TABLE2" and call.params == {"/NS/PARAM": "x"}


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        (
            "CALL FUNCTION STFC_CONNECTION\n  [(REQUTEXT: 1)]",
            2,
            3,
            "expected ':' (or AS and an alias) after the function name",
        ),
        ("CALL FUNCTION X: [(A: 1) (B: 2)]", 1, 26, "expected ',' or ']' after a parameter"),
        ("CALL FUNCTION X: [\n  (A 1)\n]", 2, 6, "expected ':' after the parameter name A"),
        ("CALL FUNCTION X: [(A: T001|)]", 1, 27, "unexpected character '|'"),
        ('CALL FUNCTION X: [(A: "open)]', 1, 23, "never closed"),
        ("CALL FUNCTION X: [(A: 1), (A: 2)]", 1, 28, "the parameter A is given twice"),
        ("CALL FUNCTION X: [(A: [(B: 1) (C: 2)])]", 1, 31, "expected ',' or ']' after a table row"),
        ("CALL FUNCTION X: [(A: 1)] garbage", 1, 27, "expected CALL FUNCTION or the end"),
        ("CALL FUNCTION: []", 1, 14, "expected a function module name"),
        ("SELECT 1", 1, 1, "expected CALL FUNCTION"),
        ("CALL FUNCTION X: [(A: {{ trigger.payload }]", 1, 23, "never closed with }}"),
        ("CALL FUNCTION X: [(A: 1 ]", 1, 25, "expected ',' or ')' after the value of A"),
        ("CALL FUNCTION X: [(A: @)]", 1, 23, "unexpected character '@'"),
        ("   \n ", 1, 1, "the instruction is empty"),
    ],
)
def test_errors_point_at_the_line_and_column_of_what_was_expected(text, line, column, words):
    with pytest.raises(BapiSyntaxError) as raised:
        parse(text)
    assert (raised.value.line, raised.value.column) == (line, column), str(raised.value)
    assert words in raised.value.message
    assert str(raised.value).startswith(f"line {line}, col {column}: ")
    (problem,) = check("bapi", text)
    assert (problem.line, problem.column) == (line, column) and words in problem.message


def test_the_checker_accepts_good_instructions_and_flags_bad_expressions():
    assert check("bapi", SALES_ORDER) == []
    (problem,) = check("bapi", "CALL FUNCTION X: [\n  (A: {{ trigger.payload. }})\n]")
    assert (problem.line, problem.column) == (2, 7)
    assert "not a valid expression" in problem.message


def test_formatting_a_parsed_call_gives_text_that_parses_to_the_same_call():
    for text in (STFC, READ_TABLE, SALES_ORDER, CUSTOMER):
        calls = parse(text)
        assert parse(format_calls(calls)) == calls


# -- round-trip on generated calls ----------------------------------------------------------------

names = st.from_regex(r"[A-Z_/][A-Z0-9_/]{0,12}", fullmatch=True).filter(
    lambda n: n.lower() not in ("true", "false", "null")
)


def _text(parts):
    """A string with expressions as the parser builds it: adjacent text joined, empty text dropped."""
    merged = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    kept = tuple(part for part in merged if part != "")
    return Text(kept) if any(isinstance(p, Expr) for p in kept) else "".join(kept)


expressions = st.from_regex(r"[a-z][a-z_]{0,15}", fullmatch=True).map(lambda s: Expr(f" trigger.payload.{s} "))
scalars = st.one_of(
    st.text(max_size=20),
    st.from_regex(r"-?[0-9]{1,12}(\.[0-9]{1,4})?", fullmatch=True),
    st.lists(st.one_of(st.text(max_size=6), expressions), min_size=1, max_size=4).map(_text),
    st.booleans(),
    st.none(),
    expressions,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.dictionaries(names, inner, min_size=1, max_size=4),
        st.lists(st.dictionaries(names, inner, min_size=1, max_size=3), max_size=3),
    ),
    max_leaves=12,
)
calls = st.lists(
    st.builds(Call, names, st.dictionaries(names, values, max_size=5), st.sampled_from([None, "a", "b1", "c_2"])),
    min_size=1,
    max_size=3,
    unique_by=lambda call: call.alias or object(),
)


def _typed(value):
    """Equality that tells True from 1 and text from a number, which == alone does not."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=200, deadline=None)
@given(calls)
def test_round_trip_on_generated_calls(generated):
    text = format_calls(generated)
    parsed = parse(text)
    assert parsed == generated
    assert [_typed(c.params) for c in parsed] == [_typed(c.params) for c in generated]
    assert check("bapi", text) == []


# -- rendering: {{ }} become typed values, never text ---------------------------------------------


def context(payload):
    return {"env": {}, "trigger": {"payload": payload, "headers": {}, "query": {}}, "steps": {}, "execution": {}}


def test_expressions_become_typed_values_and_tables():
    text = """CALL FUNCTION BAPI_SALESORDER_CREATEFROMDAT2: [
      (ORDER_HEADER_IN: (SALES_ORG: {{ trigger.payload.org }}, PURCH_NO_C: {{ concat("PO-", trigger.payload.n) }})),
      (ORDER_ITEMS_IN: {{ trigger.payload.items }}),
      (TESTRUN: {{ trigger.payload.test }}),
      (AMOUNT: 12.50)
    ]"""
    rendered = render_instruction(
        "bapi", None, text, context({"org": "1710", "n": 7, "items": [{"MATERIAL": "TG11"}], "test": True})
    )
    assert rendered.text == text
    assert rendered.params == {
        "calls": [
            {
                "function": "BAPI_SALESORDER_CREATEFROMDAT2",
                "parameters": {
                    "ORDER_HEADER_IN": {"SALES_ORG": "1710", "PURCH_NO_C": "PO-7"},
                    "ORDER_ITEMS_IN": [{"MATERIAL": "TG11"}],
                    "TESTRUN": True,
                    "AMOUNT": "12.50",
                },
                "alias": None,
            }
        ]
    }


def test_a_payload_that_looks_like_syntax_stays_one_value():
    hostile = '"), (DELETE_ALL: "X"), (REQUTEXT: "'
    rendered = render_instruction(
        "bapi", None, "CALL FUNCTION STFC_CONNECTION: [(REQUTEXT: {{ trigger.payload.t }})]", context({"t": hostile})
    )
    assert rendered.params["calls"][0]["parameters"] == {"REQUTEXT": hostile}


def test_an_expression_that_fails_names_itself():
    with pytest.raises(ExpressionError, match="trigger.payload.missing"):
        render_instruction("bapi", None, "CALL FUNCTION X: [(A: {{ trigger.payload.missing }})]", context({}))
    with pytest.raises(ExpressionError, match="line 1, col 17"):
        render_instruction("bapi", None, "CALL FUNCTION X [", context({}))
