"""Hot-path statements bound on the server are prepared once per connection; Django's own never are."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from config.database import database_from_url
from core import bound_statements

pytestmark = pytest.mark.django_db(transaction=True)


def prepared(wrapper) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def fresh():
    """A connection of its own, so no earlier test's statements are prepared on it."""
    other = connection.copy()
    other.ensure_connection()
    yield other
    other.close()


def test_a_bound_statement_is_prepared_after_the_threshold_and_a_django_query_never(fresh):
    sql = "SELECT %s::int + 1 AS erpflow_bound_probe"
    for n in range(fresh.connection.prepare_threshold + 1):
        with bound_statements.cursor(fresh) as cursor:
            cursor.execute(sql, [n])
            assert cursor.fetchone() == (n + 1,)
        with fresh.cursor() as cursor:  # Django's own cursor: bound on the client
            cursor.execute("SELECT %s::int + 2 AS erpflow_client_probe", [n])
    statements = prepared(fresh)
    assert any("erpflow_bound_probe" in text for text in statements)
    assert not any("erpflow_client_probe" in text for text in statements)


def test_none_turns_preparing_off(fresh):
    fresh.connection.prepare_threshold = None
    for n in range(8):
        with bound_statements.cursor(fresh) as cursor:
            cursor.execute("SELECT %s::int AS erpflow_unprepared_probe", [n])
    assert not any("erpflow_unprepared_probe" in text for text in prepared(fresh))


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
