"""``render_rows``: a SQL statement rendered once per element of a list, every value bound, within the budget."""

from __future__ import annotations

import pytest

from expressions import budgets
from expressions.sandbox import ExpressionError
from instructions.render import render_rows, rows_expression_problem

CONTEXT = {"steps": {"orders": {"rows": [{"doc": "A'1", "qty": 2}, {"doc": "B; DROP TABLE t", "qty": 3}]}}}
TEXT = "INSERT INTO t (doc, qty, pos, tag) VALUES ({{ row.doc }}, {{ row.qty * 2 }}, {{ row_index }}, '100%')"


def test_one_statement_and_one_set_of_bound_values_per_row():
    rendered = render_rows(TEXT, "{{ steps.orders.rows }}", CONTEXT, "pyformat", "postgresql")
    assert rendered.text == "INSERT INTO t (doc, qty, pos, tag) VALUES (%(p1)s, %(p2)s, %(p3)s, '100%%')"
    assert rendered.rows == [
        {"p1": "A'1", "p2": 4, "p3": 0},
        {"p1": "B; DROP TABLE t", "p2": 6, "p3": 1},
    ]


def test_named_placeholders_and_objects_bound_as_json():
    context = {"items": [{"doc": "A", "extra": {"k": 1}}]}
    rendered = render_rows("INSERT INTO t VALUES ({{ row.doc }}, {{ row.extra }})", "{{ items }}", context, "named")
    assert rendered.text == "INSERT INTO t VALUES (:p1, :p2)"
    assert rendered.rows == [{"p1": "A", "p2": '{"k": 1}'}]


def test_the_record_shows_how_many_rows_and_the_first_few():
    rows = [{"n": n} for n in range(10)]
    rendered = render_rows("INSERT INTO t VALUES ({{ row.n }})", "{{ rows }}", {"rows": rows}, "named")
    assert rendered.recorded() == {"row_count": 10, "first_rows": [{"p1": 0}, {"p1": 1}, {"p1": 2}]}


def test_an_empty_list_renders_no_rows():
    assert render_rows(TEXT, "{{ [] }}", {}, "pyformat").rows == []


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("{{ steps.orders }}", "gave dict, not a list"),
        ("{{ 'abc' }}", "gave str, not a list"),
        ("steps.orders.rows", "must be one {{ }} expression"),
        ("{{ a }}{{ b }}", "must be one {{ }} expression"),
        ("{{ steps.orders.rows", "never closed"),
        ("{{ steps.nope.rows }}", "refers to something that does not exist"),
    ],
)
def test_a_rows_expression_that_gives_no_list_is_refused_saying_why(expression, words):
    with pytest.raises(ExpressionError, match="^for_each_row") as raised:
        render_rows(TEXT, expression, CONTEXT, "pyformat")
    assert words in str(raised.value)


def test_a_failing_value_names_its_row():
    context = {"rows": [{"qty": 1}, {"qty": "x"}]}
    with pytest.raises(ExpressionError, match=r"^row 1: \{\{ row.qty \+ 1 \}\}"):
        render_rows("INSERT INTO t VALUES ({{ row.qty + 1 }})", "{{ rows }}", context, "named")


def test_the_statement_is_checked_as_the_database_reads_it():
    with pytest.raises(ExpressionError, match="quote"):
        render_rows("INSERT INTO t VALUES ('{{ row.a }}')", "{{ rows }}", {"rows": [{"a": 1}]}, "named", "sqlite")


def test_rendering_stays_within_the_step_budget():
    rows = [{"n": n} for n in range(50_000)]
    slow = "INSERT INTO t VALUES ({{ (range(2000) | map('string') | join(',')) | length }})"
    with budgets.time_budget(100), pytest.raises(ExpressionError, match="time budget"):
        render_rows(slow, "{{ rows }}", {"rows": rows}, "named")


def test_the_option_check_names_what_is_wrong():
    assert rows_expression_problem("{{ steps.orders.rows }}") is None
    assert rows_expression_problem("  {{ steps.orders.rows }}\n") is None
    assert "must be one {{ }} expression" in rows_expression_problem("rows: {{ x }}")
    assert "is not a valid expression" in rows_expression_problem("{{ x + }}")
