"""Checking SQL instructions before they are saved: problems with a line and a column.

These read SQL as PostgreSQL does; ``test_sql_dialects`` covers how the other databases read it.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import instructions
from expressions.sandbox import ExpressionError
from instructions.render import render_sql
from instructions.sql import DIALECTS


def problems(text: str) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in instructions.check("sql", text, "postgresql")]


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "SELECT * FROM customer WHERE id = {{ trigger.payload.id }}",
        'SELECT \'it\'\'s\', "Odd ""name""", `back``tick` FROM t',
        "SELECT $$ it's $$ || $tag$ ' $tag$ || $1 -- fine",
        "SELECT E'it\\'s' , {{ concat(\"}}\", '{{') }}",
        "SELECT {{ {'a': {'b': 1}} }}",
        "SELECT 1 -- a comment with a quote ' in it\nFROM t /* and ' here */",
        "SELECT 10 % 3, 'a%' LIKE 'a%%'",
    ],
)
def test_valid_instructions_have_no_problems(text):
    assert problems(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", (1, 1, "the instruction is empty")),
        ("  \n\t", (1, 1, "the instruction is empty")),
        ("SELECT {{ trigger.payload.id", (1, 8, "this {{ is never closed with }}")),
        ("SELECT 1 }}", (1, 10, "this }} has no opening {{")),
        ("SELECT 1\nWHERE name = 'abc", (2, 14, "this string opened with ' is never closed")),
        ('SELECT "col FROM t', (1, 8, 'this quoted identifier opened with " is never closed')),
        ("SELECT 1 /* never\n closed", (1, 10, "this /* comment is never closed with */")),
        ("SELECT $body$ open", (1, 8, "this dollar-quoted string $body$ is never closed")),
        ("SELECT {{ }}", (1, 8, "the expression {{ }} is empty")),
        ("SELECT {% if x %}1{% endif %}", (1, 8, "only {{ expression }} is supported here, not {% %} or {# #} blocks")),
    ],
)
def test_each_problem_has_its_line_and_column(text, expected):
    assert problems(text)[0] == expected


def test_an_expression_inside_quotes_is_refused_because_it_would_not_be_bound():
    [(line, column, message)] = problems("SELECT *\nFROM t WHERE name = '{{ trigger.payload.name }}'")
    assert (line, column) == (2, 22)
    assert "a {{ }} inside a string is not bound as a parameter" in message


@pytest.mark.parametrize(
    "text", ["SELECT 1 -- {{ x }}", "SELECT 1 /* {{ x }} */", 'SELECT "{{ x }}"', "SELECT $q$ {{ x }} $q$"]
)
def test_an_expression_inside_a_comment_or_identifier_is_refused(text):
    [(_, _, message)] = problems(text)
    assert "is not bound as a parameter" in message


def test_an_expression_with_a_syntax_error_is_reported_at_its_braces():
    [(line, column, message)] = problems("SELECT 1,\n  {{ trigger.payload. }}")
    assert (line, column) == (2, 3)
    assert message.startswith("{{ trigger.payload. }} is not a valid expression:")


def test_a_language_without_its_own_checker_still_gets_its_expressions_checked():
    [problem] = instructions.check("plain", "CALL FUNCTION X: [ (A: {{ 1 + }}) ]")
    assert (problem.line, problem.column) == (1, 24)
    assert problem.message.startswith("{{ 1 + }} is not a valid expression: unexpected")
    assert instructions.check("plain", "CALL FUNCTION X") == []


def test_a_checker_registers_once_per_language():
    with pytest.raises(ValueError, match="registered twice"):
        instructions.register("sql")(lambda text: [])
    assert "sql" in instructions.languages()


sql_pieces = st.lists(
    st.sampled_from(
        [
            *("SELECT ", "{{", "}}", " x ", "'", '"', "`", "--", "-- ", "\n", "/*", "*/", "/*!", "$$", "$t$", "%"),
            *("{%", "e'\\'", "\\", "#", "q'[", "]'", "[", "]", "\0"),
        ]
    )
    | st.text(max_size=4),
    max_size=12,
).map("".join)


@pytest.mark.parametrize("dialect", [None, *DIALECTS])
@settings(max_examples=400, deadline=None)
@given(text=sql_pieces)
def test_checking_and_rendering_any_text_answers_problems_or_sql_never_a_crash(dialect, text):
    found = instructions.check("sql", text, dialect)
    assert all(p.line >= 1 and p.column >= 1 and p.message for p in found)
    try:
        rendered = render_sql(text, {"x": 1}, "pyformat", dialect)
    except ExpressionError:
        return
    assert [p.message for p in found if p.message != "the instruction is empty"] == [], "what renders had no problems"
    assert set(rendered.params) == {f"p{i}" for i in range(1, len(rendered.params) + 1)}
