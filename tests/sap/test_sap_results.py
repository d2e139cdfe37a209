"""What a step with several calls answers, and where its BAPIRET2 messages are read from
(over the pyrfc double: the result shape is the transports' shared code)."""

from __future__ import annotations

import pytest

from connectors.catalog.base import ConnectorError, Deadline
from connectors.catalog.sap import SapType
from connectors.sap import calls, sessions
from connectors.sap.results import BapiError
from tests.sap.test_rfc_double import SETTINGS, pyrfc  # noqa: F401

OK = {"TYPE": "S", "ID": "V1", "NUMBER": "311", "MESSAGE": "Order 4711 saved"}
EMPTY = {"TYPE": "", "MESSAGE": ""}


def answers(module, **functions):
    module.functions.update(functions)
    module.functions.setdefault("BAPI_TRANSACTION_COMMIT", lambda conn, p: {"RETURN": EMPTY})
    module.functions.setdefault("BAPI_TRANSACTION_ROLLBACK", lambda conn, p: {"RETURN": EMPTY})


def run(instruction_calls, **options):
    session = sessions.open_session(SETTINGS, 5)
    return calls.run(session, instruction_calls, Deadline(5000), options)


def test_several_calls_keep_each_result_and_name_each_message(pyrfc):  # noqa: F811
    answers(
        pyrfc,
        BAPI_CREATE=lambda conn, p: {"SALESDOCUMENT": "4711", "RETURN": [OK]},
        BAPI_READ=lambda conn, p: {
            "SALESDOCUMENT": "",
            "ITEMS": [{"ITM_NUMBER": "000010"}],
            "RETURN": [{"TYPE": "W", "ID": "V1", "NUMBER": "175", "MESSAGE": "Old"}],
        },
    )
    output = run(
        [
            {"function": "BAPI_CREATE", "parameters": {"X": "1"}, "alias": "created"},
            {"function": "BAPI_READ", "parameters": {}},
        ],
        commit=True,
    )
    created = {
        "function": "BAPI_CREATE",
        "alias": "created",
        "export": {"SALESDOCUMENT": "4711"},
        "changing": {},
        "tables": {},
        "messages": [OK],
    }
    read = {
        "function": "BAPI_READ",
        "alias": None,
        "export": {"SALESDOCUMENT": ""},
        "changing": {},
        "tables": {"ITEMS": [{"ITM_NUMBER": "000010"}]},
        "messages": [{"TYPE": "W", "ID": "V1", "NUMBER": "175", "MESSAGE": "Old"}],
    }
    assert output == {
        "calls": [created, read],
        "created": created,
        "messages": [
            {**OK, "CALL": "created"},
            {"TYPE": "W", "ID": "V1", "NUMBER": "175", "MESSAGE": "Old", "CALL": "BAPI_READ"},
        ],
    }, "the second call's empty SALESDOCUMENT does not hide the first one's"
    assert [name for name, _ in pyrfc.calls] == ["BAPI_CREATE", "BAPI_READ", "BAPI_TRANSACTION_COMMIT"]


def test_one_call_with_an_alias_answers_the_shape_of_several(pyrfc):  # noqa: F811
    answers(pyrfc, BAPI_CREATE=lambda conn, p: {"SALESDOCUMENT": "4711", "RETURN": [OK]})
    output = run([{"function": "BAPI_CREATE", "alias": "created"}])
    assert output["created"]["export"] == {"SALESDOCUMENT": "4711"}
    assert output["calls"] == [output["created"]]
    assert output["messages"] == [{**OK, "CALL": "created"}]


def test_one_call_without_an_alias_keeps_the_plain_shape(pyrfc):  # noqa: F811
    answers(pyrfc, BAPI_CREATE=lambda conn, p: {"SALESDOCUMENT": "4711", "RETURN": [OK]})
    assert run([{"function": "BAPI_CREATE"}], commit=True) == {
        "export": {"SALESDOCUMENT": "4711"},
        "changing": {},
        "tables": {},
        "messages": [OK],
    }


def test_a_failing_later_call_names_itself_rolls_back_and_keeps_what_came_before(pyrfc):  # noqa: F811
    error = {"TYPE": "E", "ID": "V1", "NUMBER": "849", "MESSAGE": "Credit limit exceeded"}
    answers(
        pyrfc,
        BAPI_CREATE=lambda conn, p: {"SALESDOCUMENT": "4711", "RETURN": [OK]},
        BAPI_CHANGE=lambda conn, p: {"RETURN": [error]},
    )
    with pytest.raises(BapiError) as raised:
        run(
            [{"function": "BAPI_CREATE", "alias": "created"}, {"function": "BAPI_CHANGE", "alias": "changed"}],
            commit=True,
        )
    assert str(raised.value) == (
        "BAPI_CHANGE (changed) answered E V1 849: Credit limit exceeded; the changes were rolled back"
    )
    partial = raised.value.partial_output
    assert partial["created"]["export"] == {"SALESDOCUMENT": "4711"}
    assert partial["changed"]["messages"] == [error]
    assert partial["messages"][-1] == {**error, "CALL": "changed"}
    assert [name for name, _ in pyrfc.calls] == ["BAPI_CREATE", "BAPI_CHANGE", "BAPI_TRANSACTION_ROLLBACK"]


def test_an_abap_exception_in_a_later_call_says_which_call(pyrfc):  # noqa: F811
    from tests.sap.test_rfc_double import ABAPApplicationError

    def broken(conn, params):
        raise ABAPApplicationError("NOT_FOUND", key="NOT_FOUND")

    answers(pyrfc, BAPI_CREATE=lambda conn, p: {"RETURN": [OK]}, Z_BROKEN=broken)
    with pytest.raises(ConnectorError, match="^call 2 of 2, Z_BROKEN: Z_BROKEN raised an ABAP exception") as raised:
        run([{"function": "BAPI_CREATE"}, {"function": "Z_BROKEN"}])
    assert raised.value.partial_output["calls"][0]["messages"] == [OK]


@pytest.mark.parametrize("name", ["ET_RETURN", "RETURNMESSAGES", "MESSAGES"])
def test_messages_are_found_in_a_parameter_of_another_name(pyrfc, name):  # noqa: F811
    error = {"TYPE": "E", "ID": "ZZ", "NUMBER": "002", "MESSAGE": "Plant unknown"}
    answers(pyrfc, Z_CREATE=lambda conn, p: {"DOC": "1", name: [error], "ET_ITEMS": []})
    with pytest.raises(BapiError, match="Z_CREATE answered E ZZ 002: Plant unknown") as raised:
        run([{"function": "Z_CREATE"}])
    assert raised.value.partial_output["export"] == {"DOC": "1"}
    assert raised.value.partial_output["tables"] == {"ET_ITEMS": []}


def test_a_named_messages_parameter_is_read_and_others_are_left_as_data(pyrfc):  # noqa: F811
    warning = {"TYPE": "W", "ID": "ZZ", "NUMBER": "003", "MESSAGE": "Late"}
    log = [{"TYPE": "E", "MESSAGE": "an old error in a log table"}]
    answers(pyrfc, Z_CREATE=lambda conn, p: {"ES_MESSAGE": warning, "ET_LOG": log})
    output = run([{"function": "Z_CREATE"}], message_parameter="ES_MESSAGE")
    assert output["messages"] == [warning]
    assert output["tables"] == {"ET_LOG": log}
    with pytest.raises(BapiError, match="W ZZ 003: Late"):
        run([{"function": "Z_CREATE"}], message_parameter="es_message", warnings_as_errors=True)


def test_a_returned_return_parameter_stops_the_search_for_others(pyrfc):  # noqa: F811
    answers(pyrfc, BAPI_X=lambda conn, p: {"RETURN": EMPTY, "ET_LOG": [{"TYPE": "E", "MESSAGE": "history"}]})
    output = run([{"function": "BAPI_X"}])
    assert output["messages"] == [] and output["tables"]["ET_LOG"] == [{"TYPE": "E", "MESSAGE": "history"}]


def test_the_messages_parameter_is_a_step_option_checked_as_an_sap_name():
    values, errors = SapType.step_option_values({})
    assert values["message_parameter"] == "RETURN"
    values, errors = SapType.step_option_values({"message_parameter": "ET_RETURN"})
    assert values["message_parameter"] == "ET_RETURN" and errors == {}
    _, errors = SapType.step_option_values({"message_parameter": "<RETURN>"})
    assert "is not an SAP parameter name" in errors["message_parameter"]
    assert "message_parameter" in [option["name"] for option in SapType.describe()["step_options"]]
