"""Hostile payloads reach PostgreSQL and MariaDB only as bind parameters: the SQL text never changes.

Hypothesis draws payloads made of quotes, statement separators, comments, placeholders of every
paramstyle, dollar quotes, backslashes, NUL (refused with a clear error where the database cannot
store it) and arbitrary Unicode. Each one triggers a real execution of a flow whose SQL step runs through the connector
(``connectors.runtime.call``). The recorded statement text must be exactly the text rendered for a
harmless value, the database must hand the value back unchanged (so it travelled as a value),
and a canary table must still hold its row.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine
from flows.expressions import properties, render_sql
from flows.models import Execution, StepRun
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


@pytest.fixture(params=["postgres", "mysql"], ids=["postgresql", "mariadb"])
def database(request):
    if request.param == "postgres":
        import psycopg

        url = request.getfixturevalue("postgres_url")
        db = Database("postgres", url, psycopg.connect(url, autocommit=True), stores_nul=False)
        db.plain(f"CREATE TABLE {db.canary} (id int, note text)")
    else:
        import pymysql

        url = request.getfixturevalue("mysql_url")
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
        db = Database("mysql", url, connection, stores_nul=True)
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
    return version, render_sql(template, context("harmless"), connector.type.paramstyle).text


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
