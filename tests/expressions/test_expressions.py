"""``{{ }}`` properties: what an expression sees, how SQL becomes bind parameters, masking secrets."""

from __future__ import annotations

import pytest

from core.masking import MASK, Masker
from expressions.mapping import evaluate_mapping
from expressions.properties import properties
from expressions.sandbox import ExpressionError, concat, evaluate, step_references
from expressions.values import interpolate
from instructions.render import render_instruction, render_sql


@pytest.fixture
def context():
    return properties(
        env={"COMPANY": "1000", "TOKEN": "t0p-secret"},
        trigger={"payload": {"id": 7, "name": "O'Brien", "items": [{"sku": "A"}]}, "headers": {"x-a": "1"}},
        steps={"Get customer": {"rows": [{"id": 1}]}, "get_customer": {"rows": [{"id": 1}]}},
        execution_id=42,
        correlation_id="corr-1",
    )


def test_an_expression_sees_env_trigger_steps_and_execution(context):
    assert evaluate(" env.COMPANY ", context) == "1000"
    assert evaluate("trigger.payload.id + 1", context) == 8
    assert evaluate("trigger.headers['x-a']", context) == "1"
    assert evaluate("trigger.query", context) == {}
    assert evaluate("steps['Get customer'].rows[0].id", context) == 1
    assert evaluate("steps.get_customer.rows | length", context) == 1
    assert evaluate("execution.id", context) == 42
    assert evaluate("execution.correlation_id", context) == "corr-1"


def test_a_dict_key_wins_over_a_dict_method_of_the_same_name(context):
    assert evaluate("trigger.payload.items[0].sku", context) == "A"


def test_concat_joins_values_as_text(context):
    assert evaluate("concat(env.COMPANY, '-', trigger.payload.id, none, [1])", context) == "1000-7[1]"
    assert concat({"a": "ü"}) == '{"a": "ü"}'


def test_a_missing_property_is_an_error_naming_the_expression(context):
    with pytest.raises(
        ExpressionError, match=r"\{\{ trigger.payload.nope \}\} refers to something that does not exist"
    ):
        evaluate(" trigger.payload.nope ", context)
    with pytest.raises(ExpressionError, match="'nothing' is undefined"):
        evaluate("nothing", context)


def test_a_runtime_error_is_an_expression_error(context):
    with pytest.raises(ExpressionError, match=r"failed: ZeroDivisionError"):
        evaluate("1 / 0", context)


def test_sql_becomes_pyformat_placeholders_with_the_values_as_params(context):
    rendered = render_sql(
        "SELECT * FROM c WHERE id = {{ trigger.payload.id }} AND name = {{trigger.payload.name}}"
        " AND co = {{ env.COMPANY }}",
        context,
        "pyformat",
    )
    assert rendered.text == "SELECT * FROM c WHERE id = %(p1)s AND name = %(p2)s AND co = %(p3)s"
    assert rendered.params == {"p1": 7, "p2": "O'Brien", "p3": "1000"}


def test_sql_becomes_named_placeholders_for_named_drivers(context):
    rendered = render_sql("SELECT {{ trigger.payload.id }}, '%', :literal", context, "named")
    assert rendered.text == "SELECT :p1, '%', :literal"
    assert rendered.params == {"p1": 7}


def test_literal_percent_signs_are_doubled_for_pyformat_only(context):
    rendered = render_sql(
        "SELECT 10 % 3 WHERE a LIKE 'x%' AND b = {{ trigger.payload.id }} -- 100%", context, "pyformat"
    )
    assert rendered.text == "SELECT 10 %% 3 WHERE a LIKE 'x%%' AND b = %(p1)s -- 100%%"


def test_a_placeholder_written_by_hand_stays_literal_text(context):
    assert render_sql("SELECT '%(p1)s'", context, "pyformat").text == "SELECT '%%(p1)s'"


def test_objects_are_bound_as_json_and_lists_as_lists(context):
    rendered = render_sql("SELECT {{ trigger.payload.items[0] }}, {{ [1, 2] }}", context, "pyformat")
    assert rendered.params == {"p1": '{"sku": "A"}', "p2": [1, 2]}


def test_rendering_refuses_sql_with_an_expression_inside_quotes(context):
    with pytest.raises(ExpressionError, match="inside a string is not bound"):
        render_sql("SELECT '{{ trigger.payload.name }}'", context, "pyformat")


def test_an_unknown_paramstyle_is_refused(context):
    with pytest.raises(ValueError, match="paramstyle 'qmark' is not supported"):
        render_sql("SELECT {{ 1 }}", context, "qmark")


def test_non_sql_languages_get_values_as_text(context):
    assert (
        interpolate("GET /customers/{{ trigger.payload.id }}?co={{ env.COMPANY }}", context)
        == "GET /customers/7?co=1000"
    )
    rendered = render_instruction("plain", None, "FETCH {{ trigger.payload.id }}", context)
    assert (rendered.text, rendered.params) == ("FETCH 7", {})


def test_a_language_with_a_renderer_gets_typed_values_not_text(context):
    text = "CALL FUNCTION X: [ (ID: {{ trigger.payload.id }}) ]"
    rendered = render_instruction("bapi", None, text, context)
    assert rendered.params == {"calls": [{"function": "X", "parameters": {"ID": 7}, "alias": None}]}
    assert rendered.text == text


def test_step_references_are_found_in_attribute_and_item_form():
    text = "SELECT {{ steps.load.rows }}, {{ steps['Get customer'].x }}, {{ concat(steps.other, 'steps.fake') }}"
    assert [name for name, _ in step_references(text)] == ["load", "Get customer", "other"]


def test_the_masker_hides_every_secret_in_text_and_json():
    masker = Masker(["t0p-secret", "", "t0p"])
    assert masker.text("key=t0p-secret&b=t0p") == f"key={MASK}&b={MASK}"
    assert masker.value({"a": ["x t0p-secret"], "t0p-secret": 1, "n": 5}) == {"a": [f"x {MASK}"], MASK: 1, "n": 5}
    assert Masker([]).value({"a": "t0p"}) == {"a": "t0p"}


def test_a_mapping_is_jsonata_over_the_properties(context):
    assert evaluate_mapping(
        '{"id": trigger.payload.id, "co": env.COMPANY, "n": $count(steps.get_customer.rows)}', context, 1000
    ) == {
        "id": 7,
        "co": "1000",
        "n": 1,
    }


def test_a_failing_mapping_is_an_expression_error():
    with pytest.raises(ExpressionError, match="The mapping failed: boom"):
        evaluate_mapping('$error("boom")', {}, 1000)


def test_a_function_failing_on_its_input_is_an_expression_error_not_an_unexpected_one():
    with pytest.raises(ExpressionError, match="The mapping failed: could not convert string to float: 'abc'"):
        evaluate_mapping('$number("abc")', {}, 1000)


def test_a_runaway_mapping_times_out_at_its_step_timeout():
    from expressions.budgets import OutOfTime

    with pytest.raises(OutOfTime, match="longer than its timeout of 50 ms"):
        evaluate_mapping("$count($map([1..100000], function($v){ $v * 2 }))", {}, 50)


def test_a_mapping_returning_a_function_is_refused():
    with pytest.raises(ExpressionError, match="not JSON data"):
        evaluate_mapping("function($x){ $x }", {}, 1000)
