"""Hostile payloads reach PostgreSQL and MariaDB only as bind parameters: the SQL text never changes.

Hypothesis draws payloads made of quotes, statement separators, comments, placeholders of every
paramstyle, dollar quotes, backslashes, NUL (refused with a clear error where the database cannot
store it) and arbitrary Unicode. Each one triggers a real execution of a flow whose SQL step runs through the connector
(``connectors.runtime.call``). The recorded statement text must be exactly the text rendered for a
harmless value, the database must hand the value back unchanged (so it travelled as a value),
and a canary table must still hold its row.

PyMySQL writes values into the statement text, so on MariaDB the instructions are drawn too, from
pieces MySQL quotes its own way (backslash escapes in both quote kinds, ``#`` and ``-- ``
comments, ``/*! */``): each is refused by the check, or the payload comes back as a value exactly
where a harmless value does, in the server's default mode and with ``NO_BACKSLASH_ESCAPES`` or
``ANSI_QUOTES`` set, and never brings another table's rows.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import instructions
from connectors.catalog.database import fetched
from expressions.properties import properties
from expressions.sandbox import ExpressionError
from flows import engine
from flows.graph import validate
from flows.models import Execution, StepRun
from instructions.render import render_sql
from tests.flows.builders import graph, sql

HOSTILE = [
    "'",
    "''",
    '"',
    "`",
    ";",
    "--",
    "/*",
    "*/",
    "#",
    "\\",
    "\\'",
    "$1",
    "$$",
    "$a$",
    "%s",
    "%(p1)s",
    "%%",
    "%",
    ":p1",
    "?",
    "{{ env.SECRET }}",
    "}}",
    "'; DROP TABLE {canary}; --",
    "' OR '1'='1",
    "1; DELETE FROM {canary}",
    "\u2019",
    "\U0001f600",
    "\n",
    "\u2400",  # stands for NUL: the expression turns it into a real NUL (see TEMPLATE)
    "\\\\",
    '\\"',
    "' #",
    "*/ #",
    "\\' UNION SELECT 1 #",
    "AS z UNION SELECT note FROM {canary} #",
]

payloads = st.lists(
    st.one_of(
        st.sampled_from(HOSTILE),
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=6),
    ),
    max_size=6,
).map("".join)

# A payload cannot carry NUL itself (PostgreSQL, where erpflow keeps executions, stores none in
# jsonb), so the statement turns each ␀ of the payload into a real NUL on its way to the database.
TEMPLATE = (
    "SELECT {{ trigger.payload.value.replace('\\u2400', '\\x00') }} AS echoed, 'it''s 100%' AS literal "
    "FROM {canary} WHERE note <> {{ trigger.payload.value }} -- comment with ' and %"
)


def context(value):
    return properties(env={}, trigger={"payload": {"value": value}}, steps={}, execution_id=1)


class Database:
    """A real server: a connector of erpflow for the statements under test, the driver for the canary."""

    def __init__(self, family: str, url: str, connection, *, stores_nul: bool):
        self.family = family
        self.url = url
        self.connection = connection
        self.stores_nul = stores_nul
        self.canary = f"canary_{uuid.uuid4().hex[:10]}"

    def plain(self, sql: str) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return [tuple(row) for row in cursor.fetchall()] if cursor.description else []


def mariadb_connection(url: str, sql_mode: str | None = None):
    """A PyMySQL connection to the test server, with ``sql_mode`` added to the session's modes."""
    import pymysql

    parts = urlsplit(url)
    connection = pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=parts.username or "root",
        password=parts.password or "",
        database=parts.path.lstrip("/"),
        autocommit=True,
        charset="utf8mb4",
    )
    if sql_mode:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, %s)", [f",{sql_mode}"])
    return connection


@pytest.fixture(params=["postgres", "mysql"], ids=["postgresql", "mariadb"])
def database(request):
    if request.param == "postgres":
        import psycopg

        url = request.getfixturevalue("postgres_url")
        db = Database("postgres", url, psycopg.connect(url, autocommit=True), stores_nul=False)
        db.plain(f"CREATE TABLE {db.canary} (id int, note text)")
    else:
        url = request.getfixturevalue("mysql_url")
        db = Database("mysql", url, mariadb_connection(url), stores_nul=True)
        db.plain(f"CREATE TABLE {db.canary} (id int, note text) CHARACTER SET utf8mb4")
    db.plain(f"INSERT INTO {db.canary} VALUES (1, 'canary')")
    yield db
    db.plain(f"DROP TABLE IF EXISTS {db.canary}")
    db.connection.close()


@pytest.fixture
def hostile_flow(database, make_connector, publish, sandbox):
    connector = make_connector(database.family, database.url, [sandbox], name=f"{database.family} under attack")
    template = TEMPLATE.replace("{canary}", database.canary)
    version = publish(graph([sql("q", connector, template)]))
    kind = connector.connector_type
    return version, render_sql(template, context("harmless"), kind.paramstyle, kind.sql_dialect).text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=payloads)
def test_a_hostile_payload_never_changes_the_statement_and_the_canary_survives(database, hostile_flow, start, value):
    version, expected_text = hostile_flow
    value = value.replace("{canary}", database.canary)

    execution = engine.run(start(version, {"value": value}).pk)

    record = StepRun.objects.get(execution=execution)
    assert record.instruction == expected_text, "the statement text is the same whatever the payload"
    if len(value) >= 3 and value not in expected_text:
        assert value not in record.instruction
    if "\u2400" in value and not database.stores_nul:
        assert execution.status == Execution.Status.FAILED
        assert "0x00" in record.error or "NUL" in record.error
    else:
        assert execution.status == Execution.Status.SUCCEEDED, record.error
        # NUL came back from the database and is recorded as ␀ again: the value is the payload's
        expected_rows = [] if value == "canary" else [{"echoed": value, "literal": "it's 100%"}]
        assert record.output["rows"] == expected_rows, "the value came back unchanged: it travelled as a parameter"
    assert database.plain(f"SELECT id, note FROM {database.canary}") == [(1, "canary")]


# -- MariaDB: instructions written with MySQL's own quoting ------------------------------------------

PIECES = [
    *("'x\\'", "'\\\\'", "'it''s'", '"a\\"b"', '"q"', "`c`", "'", '"', "`", "\\", "\\'", "''"),
    *("#", "-- ", "--x", "\n", "/* c */", "/*! 1 */", "/*!", "*/", "$$", ", ", " AS a", "1", " "),
]
pieces = st.lists(st.sampled_from(PIECES), max_size=5).map("".join)
mysql_instructions = st.tuples(pieces, pieces).map(
    lambda around: f"SELECT {around[0]}{{{{ trigger.payload.value }}}} AS echoed{around[1]}"
)
MODES = ("NO_BACKSLASH_ESCAPES", "ANSI_QUOTES", "NO_BACKSLASH_ESCAPES,ANSI_QUOTES")
SECRET = f"secret-{uuid.uuid4().hex}"


@pytest.fixture
def mariadb(mysql_url, make_connector, sandbox):
    """A MariaDB connector, direct sessions in the server modes PyMySQL escapes for, and a table with a secret."""
    connector = make_connector("mysql", mysql_url, [sandbox], name="MariaDB under attack")
    sessions = {mode: mariadb_connection(mysql_url, mode) for mode in MODES}
    secret = Database("mysql", mysql_url, mariadb_connection(mysql_url), stores_nul=True)
    secret.plain(f"CREATE TABLE {secret.canary} (id int, note text) CHARACTER SET utf8mb4")
    secret.plain(f"INSERT INTO {secret.canary} VALUES (1, '{SECRET}')")
    yield connector, sessions, secret
    secret.plain(f"DROP TABLE IF EXISTS {secret.canary}")
    for connection in [*sessions.values(), secret.connection]:
        connection.close()


def outcome(run) -> tuple[bool, list]:
    """(succeeded, rows) of one statement; a failure's rows are empty."""
    try:
        return True, run()
    except Exception:
        return False, []


def as_values(rows: list, value: str) -> list:
    """The rows of a harmless run with ``harmless`` replaced by ``value`` wherever it was (names and values)."""

    def swap(item):
        return item.replace("harmless", value) if isinstance(item, str) else item

    return [{swap(name): swap(cell) for name, cell in row.items()} for row in rows]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(instruction=mysql_instructions, value=payloads)
def test_on_mariadb_a_drawn_instruction_is_refused_or_keeps_the_payload_a_value(
    mariadb, publish, start, instruction, value
):
    connector, sessions, secret = mariadb
    value = value.replace("{canary}", secret.canary)
    draft = graph([sql("q", connector, instruction)])
    if instructions.check("sql", instruction, "mysql"):
        with pytest.raises(ExpressionError):
            render_sql(instruction, context(value), "pyformat", "mysql")
        assert validate(draft, connector.organization), "what the check refuses cannot be saved"
        return
    version = publish(draft)

    def through_the_flow(payload):
        record = StepRun.objects.get(execution=engine.run(start(version, {"value": payload}).pk))
        if record.status != "succeeded":
            raise AssertionError(record.error)
        return record.output["rows"]

    def in_session(connection, payload):
        rendered = render_sql(instruction, context(payload), "pyformat", "mysql")
        with connection.cursor() as cursor:
            cursor.execute(rendered.text, rendered.params)
            return fetched(cursor)["rows"]

    runs = [through_the_flow] + [lambda payload, c=c: in_session(c, payload) for c in sessions.values()]
    for run in runs:
        harmless = outcome(lambda run=run: run("harmless"))
        hostile = outcome(lambda run=run: run(value))
        assert hostile[0] == harmless[0], f"the payload changed whether {instruction!r} runs"
        if hostile[0]:
            assert hostile[1] == as_values(harmless[1], value), "the payload came back as a value, where it was bound"
        assert SECRET not in repr(hostile[1]), "the payload read another table"
