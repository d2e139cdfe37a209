"""The tag filter of the connector list runs in the database, with the tag bound as a parameter: JSON
containment on PostgreSQL (the suite's database), ``json_each`` on SQLite (``make run``)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from django.db import connection
from django.db.utils import ConnectionHandler
from django.test.utils import CaptureQueriesContext

from connectors.filters import ConnectorFilter, has_tag
from connectors.models import Connector

pytestmark = pytest.mark.django_db

TAGS = {"Orders": ["erp"], "Stock": ["stock"], "Ledger": ["erp", "finance"], "Near": ["er"], "Untagged": []}


@pytest.fixture
def tagged(org):
    for name, tags in TAGS.items():
        Connector.objects.create(organization=org, type_key="postgres", name=name, tags=tags)


def test_on_postgresql_the_tag_filter_is_one_query_that_holds_the_tag(tagged):
    with CaptureQueriesContext(connection) as captured:
        found = ConnectorFilter({"tag": "erp"}, queryset=Connector.objects.order_by("name")).qs
        names = list(found.values_list("name", flat=True))
    assert names == ["Ledger", "Orders"]
    [query] = captured.captured_queries
    assert '"connectors_connector"."tags" @> ' in query["sql"]
    assert '["erp"]' in query["sql"]


def test_the_list_endpoint_reads_only_the_tagged_connectors(tagged, api):
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/connectors/?tag=erp")
    assert [c["name"] for c in response.json()["results"]] == ["Ledger", "Orders"]
    listing = [query["sql"] for query in captured.captured_queries if 'FROM "connectors_connector"' in query["sql"]]
    assert listing, "the list read connectors"
    assert all("@>" in sql for sql in listing), "no query reads the connectors without the tag condition"


def test_on_sqlite_the_tag_filter_is_json_each_with_the_tag_bound():
    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})["default"]

    def tagged_names(tag: str) -> list[str]:
        query = Connector.objects.filter(has_tag(tag, "sqlite")).order_by("name").values_list("name", flat=True).query
        sql, params = query.get_compiler(connection=sqlite).as_sql()
        assert tag not in sql and list(params) == [tag]
        database = sqlite3.connect(":memory:")
        try:
            database.execute('CREATE TABLE "connectors_connector" (id INTEGER PRIMARY KEY, name TEXT, tags TEXT)')
            database.executemany(
                'INSERT INTO "connectors_connector" (name, tags) VALUES (?, ?)',
                [(name, json.dumps(tags)) for name, tags in TAGS.items()],
            )
            return [name for (name,) in database.execute(sql.replace("%s", "?"), params)]
        finally:
            database.close()

    assert tagged_names("erp") == ["Ledger", "Orders"]
    assert tagged_names("er") == ["Near"]
    assert tagged_names("nothing") == []
    assert tagged_names("erp' OR '1'='1") == []
