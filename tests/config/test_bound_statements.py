"""Hot-path statements bound on the server are prepared once per connection; Django's own never are."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.database import database_from_url
from core import bound_statements

pytestmark = pytest.mark.django_db(transaction=True)


def prepared(wrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_a_bound_statement_is_prepared_after_the_threshold_and_a_django_query_never(second_connection):
    sql = "SELECT %s::int + 1 AS erpflow_bound_probe"
    for n in range(second_connection.connection.prepare_threshold + 1):
        with bound_statements.cursor(second_connection) as cursor:
            cursor.execute(sql, [n])
            assert cursor.fetchone() == (n + 1,)
        with second_connection.cursor() as cursor:  # Django's own cursor: bound on the client
            cursor.execute("SELECT %s::int + 2 AS erpflow_client_probe", [n])
    statements = prepared(second_connection)
    assert any("erpflow_bound_probe" in text for text in statements)
    assert not any("erpflow_client_probe" in text for text in statements)


def test_none_turns_preparing_off(second_connection):
    second_connection.connection.prepare_threshold = None
    for n in range(8):
        with bound_statements.cursor(second_connection) as cursor:
            cursor.execute("SELECT %s::int AS erpflow_unprepared_probe", [n])
    assert not any("erpflow_unprepared_probe" in text for text in prepared(second_connection))


@pytest.mark.parametrize(
    ("query", "threshold"), [("", 5), ("?prepare_threshold=0", 0), ("?prepare_threshold=none", None)]
)
def test_the_threshold_comes_from_the_url(query, threshold, tmp_path: Path):
    settings = database_from_url(f"postgresql://u@db:5432/erp{query}", tmp_path / "x.sqlite3")
    assert settings["OPTIONS"]["prepare_threshold"] == threshold


@pytest.mark.parametrize("value", ["-1", "often"])
def test_a_bad_threshold_is_refused_with_what_is_accepted(value, tmp_path: Path):
    with pytest.raises(ImproperlyConfigured, match="prepare_threshold must be a whole number"):
        database_from_url(f"postgresql://u@db:5432/erp?prepare_threshold={value}", tmp_path / "x.sqlite3")
