"""Each database's reading of SQL quotes and comments: where a ``{{ }}`` is code, and what is refused."""

from __future__ import annotations

import pytest

import instructions
from connectors import catalog
from expressions.sandbox import ExpressionError
from instructions.render import render_sql
from instructions.sql import DIALECTS

ISSUE = "SELECT 'x\\' AS a, {{ x }} AS b, '' AS c"


def problems(text: str, dialect: str | None) -> list[tuple[int, int, str]]:
    return [(p.line, p.column, p.message) for p in instructions.check("sql", text, dialect)]


def rendered(text: str, dialect: str) -> str:
    return render_sql(text, {"x": 1}, "pyformat", dialect).text


def test_every_sql_connector_type_declares_a_dialect_the_lexer_knows():
    sql_types = [kind for kind in catalog.all_types() if kind.language == "sql"]
    assert {kind.key: kind.sql_dialect for kind in sql_types} == {
        "postgres": "postgresql",
        "mysql": "mysql",
        "oracle": "oracle",
        "sqlite": "sqlite",
    }
    assert set(DIALECTS) == {"postgresql", "mysql", "oracle", "sqlite"}


# -- MySQL and MariaDB -------------------------------------------------------------------------------


def test_the_issue_exploit_is_refused_for_mysql_at_the_string_the_backslash_keeps_open():
    [(line, column, message)] = problems(ISSUE, "mysql")
    assert (line, column) == (1, 8)
    assert "never closed" in message and "backslash" in message
    with pytest.raises(ExpressionError, match="backslash"):
        rendered(ISSUE, "mysql")
    assert problems(ISSUE, "postgresql") == [], "PostgreSQL reads 'x\\' as the whole string"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1 # it's\n, {{ x }}", "SELECT 1 # it's\n, %(p1)s"),
        ("SELECT 1 --{{ x }}", "SELECT 1 --%(p1)s"),  # not a comment: MySQL reads 1 - -value
        ("SELECT 1 -- it's\n, {{ x }}", "SELECT 1 -- it's\n, %(p1)s"),
        ("SELECT 1, {{ x }} --", "SELECT 1, %(p1)s --"),
        ("SELECT 'x\\\\', {{ x }}", "SELECT 'x\\\\', %(p1)s"),  # an escaped backslash ends at the same quote always
        ('SELECT \'it\'\'s\', "say ""hi""", {{ x }}', 'SELECT \'it\'\'s\', "say ""hi""", %(p1)s'),
        ("SELECT `it's`, {{ x }}", "SELECT `it's`, %(p1)s"),
        ("SELECT /*!50000 SQL_NO_CACHE */ {{ x }}", "SELECT /*!50000 SQL_NO_CACHE */ %(p1)s"),
        ("SELECT /*+ MAX_EXECUTION_TIME(100) */ {{ x }}", "SELECT /*+ MAX_EXECUTION_TIME(100) */ %(p1)s"),
        ("SELECT 'it\\'s'", "SELECT 'it\\'s'"),  # no {{ }}: nothing can move, whatever the mode
        ("SELECT $a, {{ x }}", "SELECT $a, %(p1)s"),
        ("SELECT 1+{{ x }}, a=({{ x }}), -{{ x }}", "SELECT 1+%(p1)s, a=(%(p2)s), -%(p3)s"),
    ],
)
def test_mysql_code_around_an_expression_renders_it_as_a_placeholder(text, expected):
    assert problems(text, "mysql") == []
    assert rendered(text, "mysql") == expected


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("SELECT 1 # {{ x }}", 12, "inside a comment"),
        ("SELECT 1 -- {{ x }}", 13, "inside a comment"),
        ("SELECT 1 --\t{{ x }}", 13, "inside a comment"),
        ("SELECT 1 --' , {{ x }}, '", 16, "inside a string"),  # "--'" is no comment in MySQL
        ('SELECT "{{ x }}"', 9, "inside a string"),
        ("SELECT `{{ x }}`", 9, "inside a quoted identifier"),
        ("SELECT `col FROM t", 8, "this quoted identifier opened with ` is never closed"),
        ("SELECT /*! {{ x }} */ 1", 12, "inside a comment"),
        ("SELECT 'a\\'b', {{ x }}", 8, "NO_BACKSLASH_ESCAPES, so a {{ }} after it could be read inside the string"),
        ('SELECT "a\\"b", {{ x }}', 8, "a name when the server sets ANSI_QUOTES"),
        ("SELECT 1 /*! , 'x */, {{ x }} /* ' */", 10, "run the text of /*! */, /*M! */ and /*+ */ comments"),
        ("SELECT 1 /*M! -- */, {{ x }}", 10, "run the text of /*! */"),
        ("SELECT $$, {{ x }}, $$", 8, "MySQL 9 reads $...$ as a string"),
        ("SELECT 1 #\0'\n{{ x }}, '\n'", 11, "a NUL character ends a comment in MySQL"),
        ("SELECT x{{ x }}", 9, "a value written against a name, a number or a quote"),
        ("SELECT @{{ x }}", 9, "@'...' a variable"),
        ("SELECT 'a'{{ x }}", 11, "'a''b' one string"),
        ("SELECT {{ x }}{{ x }}", 8, "put a space between them"),
        ("SELECT {{ x }}abc", 8, "put a space between them"),
        ("SELECT t.{{ x }}", 10, "put a space between them"),
    ],
)
def test_mysql_refuses_what_some_server_would_read_around_an_expression(text, column, words):
    found = problems(text, "mysql")
    assert found, text
    line, col, message = found[0]
    assert (line, col) == (1, column), found
    assert words in message
    with pytest.raises(ExpressionError):
        rendered(text, "mysql")


def test_mysql_reads_a_backslash_escape_in_both_quote_kinds():
    # The {{ }} is inside one string, opened at column 8, for MariaDB in its default mode.
    for quote in "'\"":
        text = f"SELECT {quote}a\\{quote}, {{{{ x }}}}, {quote}"
        [(_, column, message)] = problems(text, "mysql")
        assert column == 14 and "inside a string" in message
        assert problems(text, "postgresql") != []


# -- Oracle, PostgreSQL, SQLite ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "SELECT q'[it's]', {{ x }} FROM dual",
        "SELECT nq'<it's>', {{ x }} FROM dual",
        "SELECT Q'!it's!', {{ x }} FROM dual",
        "SELECT q'{a'b}', {{ x }} FROM dual",
        "SELECT 'a\\', {{ x }} FROM dual",  # no backslash escapes in Oracle
        "SELECT 1 --x it's\n, {{ x }} FROM dual",
    ],
)
def test_oracle_strings_and_comments(text):
    assert problems(text, "oracle") == []
    assert ":p1" in render_sql(text, {"x": 1}, "named", "oracle").text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("SELECT q'[{{ x }}]' FROM dual", "inside a string"),
        ("SELECT q'[it's", "this q-quoted string opened with q' is never closed"),
        ("SELECT q' x ' FROM dual", "needs a delimiter after q'"),
        ("SELECT 1 --{{ x }}", "inside a comment"),
    ],
)
def test_oracle_refusals(text, words):
    [(_, _, message)] = problems(text, "oracle")
    assert words in message


def test_postgresql_comments_nest():
    assert problems("SELECT /* a /* b */ c */ {{ x }}", "postgresql") == []
    [(_, column, message)] = problems("SELECT /* a /* b */ {{ x }} */ 1", "postgresql")
    assert column == 21 and "inside a comment" in message
    assert problems("SELECT /* a /* b */ {{ x }} */ 1", "mysql") == [], "MySQL's comments do not nest"


def test_sqlite_quotes_names_in_brackets_and_backticks():
    assert problems("SELECT [it's], `it's`, {{ x }}", "sqlite") == []
    [(_, _, message)] = problems("SELECT [{{ x }}]", "sqlite")
    assert "inside a quoted identifier" in message


# -- without a dialect -------------------------------------------------------------------------------


def test_without_a_dialect_every_database_reading_applies_and_names_the_one_objecting():
    [(line, column, message)] = problems(ISSUE, None)
    assert (line, column) == (1, 8)
    assert message.startswith("MySQL/MariaDB: this string opened with ' is never closed")
    [(_, _, message)] = problems("SELECT '{{ x }}'", None)
    assert message.startswith("a {{ }} inside a string"), "a problem every database has names none"
    assert problems("SELECT * FROM t WHERE id = {{ x }} AND name LIKE 'a%'", None) == []
    with pytest.raises(ExpressionError, match="MySQL/MariaDB"):
        render_sql(ISSUE, {"x": 1}, "pyformat")


def test_an_unknown_dialect_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown SQL dialect 'db2'"):
        rendered("SELECT 1", "db2")
