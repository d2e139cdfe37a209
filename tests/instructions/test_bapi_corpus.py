"""A corpus of BAPI instructions through the editor's check endpoint and the renderer: what is
written is what SAP gets (leading zeros, dates and decimals as text), and each broken instruction
is reported at its exact line and column."""

from __future__ import annotations

import pytest

from instructions.render import render_instruction

CHECK = "/api/v1/instructions/check/"
PAYLOAD = {"customer": "1000001", "n": 1000001, "name": "ACME", "qty": 2.5, "rows": [{"MATERIAL": "TG11"}]}


def context():
    return {"env": {}, "trigger": {"payload": PAYLOAD, "headers": {}, "query": {}}, "steps": {}, "execution": {}}


def one(function, params, alias=None):
    return [{"function": function, "parameters": params, "alias": alias}]


VALID = [
    # the seed's syntax: bare words
    ("CALL FUNCTION RFC_READ_TABLE: [ (QUERY_TABLE: T001) ]", one("RFC_READ_TABLE", {"QUERY_TABLE": "T001"})),
    (
        "CALL FUNCTION RFC_READ_TABLE: [ (QUERY_TABLE: T001), (FIELDS: [ (FIELDNAME: BUKRS), (FIELDNAME: BUTXT) ]) ]",
        one("RFC_READ_TABLE", {"QUERY_TABLE": "T001", "FIELDS": [{"FIELDNAME": "BUKRS"}, {"FIELDNAME": "BUTXT"}]}),
    ),
    ("CALL FUNCTION RFC_READ_TABLE: [(DELIMITER: '|')]", one("RFC_READ_TABLE", {"DELIMITER": "|"})),
    ("CALL FUNCTION RFC_READ_TABLE: [(DELIMITER: ';')]", one("RFC_READ_TABLE", {"DELIMITER": ";"})),
    ("CALL FUNCTION RFC_READ_TABLE: [(ROWCOUNT: 5)]", one("RFC_READ_TABLE", {"ROWCOUNT": "5"})),
    ("call function rfc_ping: []", one("RFC_PING", {})),
    ("CALL FUNCTION RFC_PING: [].", one("RFC_PING", {})),
    ("CALL FUNCTION /BODS/RFC_READ_TABLE2: [(/NS/P: /NS/V)]", one("/BODS/RFC_READ_TABLE2", {"/NS/P": "/NS/V"})),
    # leading zeros, dates, decimals: text exactly as written
    ("CALL FUNCTION B: [(CUSTOMERNO: 0001000001)]", one("B", {"CUSTOMERNO": "0001000001"})),
    ('CALL FUNCTION B: [(CUSTOMERNO: "0001000001")]', one("B", {"CUSTOMERNO": "0001000001"})),
    ("CALL FUNCTION B: [(ITM_NUMBER: 000010)]", one("B", {"ITM_NUMBER": "000010"})),
    ("CALL FUNCTION B: [(DATE: 20240131)]", one("B", {"DATE": "20240131"})),
    ("CALL FUNCTION B: [(DATE: 2024-01-31)]", one("B", {"DATE": "2024-01-31"})),
    ("CALL FUNCTION B: [(TIME: '10:30:00')]", one("B", {"TIME": "10:30:00"})),
    ("CALL FUNCTION B: [(AMOUNT: 12.50)]", one("B", {"AMOUNT": "12.50"})),
    ("CALL FUNCTION B: [(AMOUNT: 2.500)]", one("B", {"AMOUNT": "2.500"})),
    ("CALL FUNCTION B: [(DELTA: -3)]", one("B", {"DELTA": "-3"})),
    ("CALL FUNCTION B: [(BIG: 123456789012345678901234567890)]", one("B", {"BIG": "123456789012345678901234567890"})),
    ("CALL FUNCTION B: [(E: 1.5e3)]", one("B", {"E": "1.5e3"})),
    ("CALL FUNCTION B: [(V: 1.2.3)]", one("B", {"V": "1.2.3"})),
    # keywords and quoted keywords
    ("CALL FUNCTION B: [(A: true, B: FALSE, C: Null)]", one("B", {"A": True, "B": False, "C": None})),
    ("CALL FUNCTION B: [(A: 'TRUE', B: \"false\", C: 'null')]", one("B", {"A": "TRUE", "B": "false", "C": "null"})),
    ("CALL FUNCTION B: [(A: , B: X)]", one("B", {"A": None, "B": "X"})),
    ("CALL FUNCTION B: [(A: TRUEISH)]", one("B", {"A": "TRUEISH"})),
    # strings: escapes in double quotes, raw single quotes
    ('CALL FUNCTION B: [(T: "Hello SAP")]', one("B", {"T": "Hello SAP"})),
    ('CALL FUNCTION B: [(T: "a\\tb\\nc")]', one("B", {"T": "a\tb\nc"})),
    ('CALL FUNCTION B: [(T: "q\\"uote \\\\ back")]', one("B", {"T": 'q"uote \\ back'})),
    ('CALL FUNCTION B: [(T: "\\u00e9\\0")]', one("B", {"T": "é\0"})),
    ("CALL FUNCTION B: [(T: 'C:\\temp\\new')]", one("B", {"T": "C:\\temp\\new"})),
    ("CALL FUNCTION B: [(T: 'it''s')]", one("B", {"T": "it's"})),
    ("CALL FUNCTION B: [(T: '')]", one("B", {"T": ""})),
    ("CALL FUNCTION B: [(T: '^[A-Z]+\\d$')]", one("B", {"T": "^[A-Z]+\\d$"})),
    ('CALL FUNCTION B: [(T: "# not a comment")]', one("B", {"T": "# not a comment"})),
    ('CALL FUNCTION B: [(T: "\\{{ literal }}")]', one("B", {"T": "{{ literal }}"})),
    # expressions: typed as a whole value, text inside a string
    ("CALL FUNCTION B: [(C: {{ trigger.payload.customer }})]", one("B", {"C": "1000001"})),
    ("CALL FUNCTION B: [(C: {{ trigger.payload.n }})]", one("B", {"C": 1000001})),
    ("CALL FUNCTION B: [(C: {{ trigger.payload.n | alpha(10) }})]", one("B", {"C": "0001000001"})),
    ("CALL FUNCTION B: [(Q: {{ trigger.payload.qty }})]", one("B", {"Q": 2.5})),
    ("CALL FUNCTION B: [(T: {{ trigger.payload.rows }})]", one("B", {"T": [{"MATERIAL": "TG11"}]})),
    ('CALL FUNCTION B: [(T: "Order for {{ trigger.payload.name }}")]', one("B", {"T": "Order for ACME"})),
    ("CALL FUNCTION B: [(T: 'raw {{ trigger.payload.name }}\\x')]", one("B", {"T": "raw ACME\\x"})),
    ('CALL FUNCTION B: [(T: "{{ trigger.payload.n }}")]', one("B", {"T": "1000001"})),
    ('CALL FUNCTION B: [(T: "{{ concat("a", "}}") }}!")]', one("B", {"T": "a}}!"})),
    ('CALL FUNCTION B: [(T: "{{ trigger.payload.qty }} pc")]', one("B", {"T": "2.5 pc"})),
    # structures and tables
    ("CALL FUNCTION B: [(S: (X: 1, Y: (Z: deep)))]", one("B", {"S": {"X": "1", "Y": {"Z": "deep"}}})),
    ("CALL FUNCTION B: [(T: [])]", one("B", {"T": []})),
    ("CALL FUNCTION B: [(T: [(A: 1), (A: 2),])]", one("B", {"T": [{"A": "1"}, {"A": "2"}]})),
    ("CALL FUNCTION B: [(L: [a, 'b', 3])]", one("B", {"L": ["a", "b", "3"]})),
    ("CALL FUNCTION B: [(A: 1, B: 2), (C: 3),]", one("B", {"A": "1", "B": "2", "C": "3"})),
    (
        "CALL FUNCTION BAPI_SALESORDER_CREATEFROMDAT2: [\n"
        "  (ORDER_HEADER_IN: (DOC_TYPE: OR, SALES_ORG: 1710, DISTR_CHAN: 10, DIVISION: 00)),\n"
        "  (ORDER_ITEMS_IN: [\n"
        "    (ITM_NUMBER: 000010, MATERIAL: {{ trigger.payload.rows[0].MATERIAL }}, TARGET_QTY: 2.500)\n"
        "  ]),\n"
        "  (ORDER_PARTNERS: [(PARTN_ROLE: AG, PARTN_NUMB: 0001000001)])\n"
        "]",
        one(
            "BAPI_SALESORDER_CREATEFROMDAT2",
            {
                "ORDER_HEADER_IN": {"DOC_TYPE": "OR", "SALES_ORG": "1710", "DISTR_CHAN": "10", "DIVISION": "00"},
                "ORDER_ITEMS_IN": [{"ITM_NUMBER": "000010", "MATERIAL": "TG11", "TARGET_QTY": "2.500"}],
                "ORDER_PARTNERS": [{"PARTN_ROLE": "AG", "PARTN_NUMB": "0001000001"}],
            },
        ),
    ),
    # comments and layout
    ("* a comment\nCALL FUNCTION B: [ # here too\n  (A: 1) # and here\n]", one("B", {"A": "1"})),
    ("CALL FUNCTION B: [\n* a starred line\n  (A: x)\n]", one("B", {"A": "x"})),
    ("\n\n   CALL   FUNCTION   B  :  [  ( A :  1 )  ]  \n", one("B", {"A": "1"})),
    # several calls, aliases
    (
        "CALL FUNCTION BAPI_X AS created: [(A: 1)]\nCALL FUNCTION BAPI_TRANSACTION_COMMIT: [(WAIT: X)]",
        [
            {"function": "BAPI_X", "parameters": {"A": "1"}, "alias": "created"},
            {"function": "BAPI_TRANSACTION_COMMIT", "parameters": {"WAIT": "X"}, "alias": None},
        ],
    ),
    (
        "CALL FUNCTION A as first: []\nCALL FUNCTION A as second: []",
        [
            {"function": "A", "parameters": {}, "alias": "first"},
            {"function": "A", "parameters": {}, "alias": "second"},
        ],
    ),
    ("CALL FUNCTION B AS as: []", one("B", {}, "as")),
    ("CALL FUNCTION B AS Order_1: [(A: 1)]", one("B", {"A": "1"}, "Order_1")),
    (
        "CALL FUNCTION A: [] CALL FUNCTION B: [(X: 1)].",
        [
            {"function": "A", "parameters": {}, "alias": None},
            {"function": "B", "parameters": {"X": "1"}, "alias": None},
        ],
    ),
]

BROKEN = [
    ("", [(1, 1, "the instruction is empty")]),
    ("SELECT 1", [(1, 1, "expected CALL FUNCTION, found 'SELECT'")]),
    ("CALL FUNCTION: []", [(1, 14, "expected a function module name")]),
    ("CALL FUNCTION 1B: []", [(1, 15, "expected a function module name")]),
    ("CALL FUNCTION X [", [(1, 17, "expected ':' (or AS and an alias)")]),
    ("CALL FUNCTION X: (A: 1)", [(1, 18, "expected '[' opening the parameter list")]),
    ("CALL FUNCTION X: [(A: 1) (B: 2)]", [(1, 26, "expected ',' or ']' after a parameter")]),
    ("CALL FUNCTION X: [\n  (A 1)\n]", [(2, 6, "expected ':' after the parameter name A")]),
    ("CALL FUNCTION X: [(A: |)]", [(1, 23, "unexpected character '|'; a value holding characters")]),
    ("CALL FUNCTION X: [(A: 10:30)]", [(1, 25, "expected ',' or ')' after the value of A")]),
    ("CALL FUNCTION X: [(A: .5)]", [(1, 23, "expected a value")]),
    ('CALL FUNCTION X: [(A: "open)]', [(1, 23, 'this string opened with " is never closed')]),
    ("CALL FUNCTION X: [(A: 'open)]\n", [(1, 23, "this string opened with ' is never closed")]),
    ('CALL FUNCTION X: [(A: "C:\\quux")]', [(1, 26, "unknown escape \\q")]),
    ("CALL FUNCTION X: [(A: 1), (A: 2)]", [(1, 28, "the parameter A is given twice")]),
    ("CALL FUNCTION X: [(S: (F: 1, F: 2))]", [(1, 30, "the field F is given twice")]),
    ("CALL FUNCTION X: [(A: [(B: 1) (C: 2)])]", [(1, 31, "expected ',' or ']' after a table row")]),
    ("CALL FUNCTION X: [(A: 1)] garbage", [(1, 27, "expected CALL FUNCTION or the end")]),
    ("CALL FUNCTION X: [(A: {{ trigger.payload }]", [(1, 23, "never closed with }}")]),
    ("CALL FUNCTION X: [(A: {{ trigger. }})]", [(1, 23, "is not a valid expression")]),
    ('CALL FUNCTION X: [\n  (A: "x {{ 1 + }} y")\n]', [(2, 10, "is not a valid expression")]),
    ("CALL FUNCTION X: [(A: 1 ]", [(1, 25, "expected ',' or ')' after the value of A")]),
    (
        "CALL FUNCTION A: [\n  (X: 1),\n  (Y: 2)\n",
        [(1, 18, "the '[' opened here is never closed; the instruction ends at line 3, column 9")],
    ),
    (
        "CALL FUNCTION A: [(X: (Y: 1)\n",
        [
            (1, 18, "the '[' opened here is never closed; the instruction ends at line 1, column 29"),
            (1, 19, "the '(' opened here is never closed; the instruction ends at line 1, column 29"),
        ],
    ),
    (
        "CALL FUNCTION A: [(X: 1)\nCALL FUNCTION B: []",
        [(1, 18, "the '[' opened here is never closed; the next CALL FUNCTION starts at line 2, column 1")],
    ),
    (
        "CALL FUNCTION A AS x: []\nCALL FUNCTION B AS x: []",
        [(2, 20, "the alias x is already used by the call on line 1")],
    ),
    ("CALL FUNCTION A AS calls: []", [(1, 20, "the alias calls is reserved")]),
    ("CALL FUNCTION A AS MESSAGES: []", [(1, 20, "the alias MESSAGES is reserved")]),
    ("CALL FUNCTION A AS _x: []", [(1, 20, "expected an alias after AS")]),
    ("CALL FUNCTION A AS: []", [(1, 19, "expected an alias after AS")]),
    (
        "CALL FUNCTION A: [\n  (X 1),\n  (Y: @),\n  (Z: ok)\n]\nCALL FUNCTION: []\n",
        [(2, 6, "expected ':'"), (3, 7, "unexpected character '@'"), (6, 14, "expected a function module name")],
    ),
    (
        'CALL FUNCTION C: [(P: "\\q", Q: "\\w")]',
        [(1, 24, "unknown escape \\q; double-quoted strings know"), (1, 33, "unknown escape \\w")],
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "calls"), VALID, ids=range(len(VALID)))
def test_a_valid_instruction_checks_clean_and_renders_exactly(api, text, calls):
    response = api.post(CHECK, {"language": "bapi", "text": text}, format="json")
    assert response.status_code == 200
    assert response.json() == {"language": "bapi", "problems": []}
    assert render_instruction("bapi", None, text, context()).params == {"calls": calls}


@pytest.mark.django_db
@pytest.mark.parametrize(("text", "expected"), BROKEN, ids=range(len(BROKEN)))
def test_a_broken_instruction_is_reported_at_its_line_and_column(api, text, expected):
    response = api.post(CHECK, {"language": "bapi", "text": text}, format="json")
    assert response.status_code == 200
    problems = response.json()["problems"]
    assert [(p["line"], p["column"]) for p in problems] == [(line, column) for line, column, _ in expected], problems
    for problem, (_, _, words) in zip(problems, expected, strict=True):
        assert words in problem["message"]
    if any("valid expression" in words for _, _, words in expected):
        return  # a bad {{ }} is found by the checker; the renderer meets it when it evaluates
    with pytest.raises(Exception, match=f"line {expected[0][0]}, col {expected[0][1]}"):
        render_instruction("bapi", None, text, context())


def test_the_corpus_is_large_enough():
    assert len(VALID) + len(BROKEN) >= 60
