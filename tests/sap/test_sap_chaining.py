"""A later call reading an earlier call's result in one instruction (``{{ calls.created.export.X }}``):
rendered as a marker, checked at save time, evaluated between the calls on one session (pyrfc double)."""

from __future__ import annotations

import pytest

from connectors.catalog.base import ConnectorError, Deadline
from connectors.sap import calls, sessions
from expressions.sandbox import ExpressionError
from instructions.bapi import check, render
from tests.sap.test_rfc_double import SETTINGS, pyrfc  # noqa: F401

EMPTY = {"TYPE": "", "MESSAGE": ""}
CHAINED = """CALL FUNCTION BAPI_CREATE AS created: [(ORDER: {{ trigger.payload.order }})]
CALL FUNCTION BAPI_CHANGE: [
  (SALESDOCUMENT: {{ calls.created.export.SALESDOCUMENT }}),
  (ITEMS: [(
    POS: {{ calls[0].export.POS }},
    TEXT: "for {{ calls.created.export.SALESDOCUMENT }} of {{ trigger.payload.order }}"
  )])
]"""


def answers(module, **functions):
    module.functions.update(functions)
    module.functions.setdefault("BAPI_TRANSACTION_COMMIT", lambda conn, p: {"RETURN": EMPTY})
    module.functions.setdefault("BAPI_TRANSACTION_ROLLBACK", lambda conn, p: {"RETURN": EMPTY})


def rendered(text: str = CHAINED) -> list[dict]:
    return render(text, {"trigger": {"payload": {"order": "A-1"}}}).params["calls"]


def test_a_chained_value_is_rendered_as_a_marker_and_the_rest_as_values():
    second = rendered()[1]["parameters"]
    assert second["SALESDOCUMENT"] == {"$calls": "calls.created.export.SALESDOCUMENT"}
    assert second["ITEMS"][0]["POS"] == {"$calls": "calls[0].export.POS"}
    assert second["ITEMS"][0]["TEXT"] == {
        "$calls": ["for ", {"$calls": "calls.created.export.SALESDOCUMENT"}, " of ", "A-1"]
    }
    filtered = rendered("CALL FUNCTION A AS a: []\nCALL FUNCTION B: [(X: {{ calls.a.export.X | alpha(10) }})]")
    assert filtered[1]["parameters"] == {"X": {"$calls": "calls.a.export.X | alpha(10)"}}


def test_chained_values_are_evaluated_between_the_calls_on_one_session_and_committed_once(pyrfc):  # noqa: F811
    answers(
        pyrfc,
        BAPI_CREATE=lambda conn, p: {"SALESDOCUMENT": "0000004711", "POS": 10, "RETURN": EMPTY},
        BAPI_CHANGE=lambda conn, p: {"RETURN": EMPTY},
    )
    session = sessions.open_session(SETTINGS, 5)
    output = calls.run(session, rendered(), Deadline(5000), {"commit": True})
    assert [name for name, _ in pyrfc.calls] == ["BAPI_CREATE", "BAPI_CHANGE", "BAPI_TRANSACTION_COMMIT"]
    assert len(pyrfc.opened) == 1
    sent = pyrfc.calls[1][1]
    assert sent["SALESDOCUMENT"] == "0000004711"
    assert sent["ITEMS"] == [{"POS": 10, "TEXT": "for 0000004711 of A-1"}]
    assert output["calls"][1]["chained"] == {
        "SALESDOCUMENT": "0000004711",
        "ITEMS[1]-POS": 10,
        "ITEMS[1]-TEXT": "for 0000004711 of A-1",
    }
    assert "chained" not in output["created"]


def test_a_chained_value_that_fails_names_its_call_and_parameter_and_rolls_back(pyrfc):  # noqa: F811
    answers(pyrfc, BAPI_CREATE=lambda conn, p: {"RETURN": EMPTY}, BAPI_CHANGE=lambda conn, p: {"RETURN": EMPTY})
    session = sessions.open_session(SETTINGS, 5)
    with pytest.raises(ConnectorError) as failed:
        calls.run(session, rendered(), Deadline(5000), {"commit": True})
    message = str(failed.value)
    assert message.startswith(
        "call 2 of 2, BAPI_CHANGE: parameter SALESDOCUMENT: {{calls.created.export.SALESDOCUMENT}}"
    )
    assert "rolled back" in message
    assert [name for name, _ in pyrfc.calls] == ["BAPI_CREATE", "BAPI_TRANSACTION_ROLLBACK"]
    assert failed.value.partial_output["created"]["function"] == "BAPI_CREATE"


def test_the_checker_refuses_later_calls_unknown_positions_and_step_properties_at_their_place():
    text = (
        "CALL FUNCTION A AS first: [(X: {{ calls.first.export.X }})]\n"
        "CALL FUNCTION B: [(X: {{ calls.later.export.X }}), (Y: {{ calls[1] }}), (Z: {{ calls.first ~ env.x }})]\n"
        "CALL FUNCTION C AS later: [(X: {{ calls }}), (Y: {{ calls[0].export.X }}), (Z: {{ calls.first }})]"
    )
    problems = [(p.line, p.column, p.message) for p in check(text)]
    assert problems == [
        (1, 32, "calls.first is not the alias of a call before A (earlier aliases: none)"),
        (2, 23, "calls.later is not the alias of a call before B (earlier aliases: first)"),
        (2, 56, "calls[1] is not a call before B (call 1 counting from 0)"),
        (
            2,
            77,
            "an expression reading calls runs between the calls, where only calls exists; env cannot be used in it "
            "(give that value to a parameter of its own)",
        ),
        (3, 32, "read an earlier call as calls.<alias> or calls[<position from 0>]"),
    ]


def test_data_cannot_pose_as_a_marker():
    with pytest.raises(ExpressionError, match=r"\$calls"):
        render("CALL FUNCTION A: [(X: {{ trigger.payload }})]", {"trigger": {"payload": {"$calls": "calls"}}})
