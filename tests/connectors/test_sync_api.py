"""The schema and sync endpoints of a database connector: tables, a table, the live check and the preview."""

from __future__ import annotations

import sqlite3

import pytest

from tests.connectors.sync_targets import CUSTOMERS

pytestmark = pytest.mark.django_db

SPEC = {
    "rows": "{{ trigger.payload }}",
    "table": "customers",
    "key": ["customer_no"],
    "fields": [
        {"column": "customer_no", "expression": "KUNNR"},
        {"column": "name", "expression": "$uppercase(NAME1)"},
        {"column": "city", "expression": "ORT01", "default": "unknown"},
        {"column": "source", "constant": "SAP"},
        {"column": "extra", "expression": "$number(NAME1)"},
    ],
}


@pytest.fixture
def connector(database_connector, sandbox, data_dir):
    made = database_connector("sqlite", {"path": "api.db", "create_missing": True}, [sandbox])
    folder = data_dir / f"org-{made.organization_id}"
    folder.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(folder / "api.db") as conn:
        conn.execute(CUSTOMERS.replace("{t}", "customers"))
    return made


def url(connector, tail: str) -> str:
    return f"/api/v1/connectors/{connector.pk}/{tail}"


def test_the_tables_and_a_tables_columns_and_unique_indexes_are_listed(api, connector):
    tables = api.get(url(connector, "schema/tables/"), {"environment": "sandbox"})
    assert tables.status_code == 200, tables.content
    assert tables.json() == {"results": [{"name": "customers", "type": "BASE TABLE"}]}
    table = api.get(url(connector, "schema/tables/customers/"))
    assert table.status_code == 200
    body = table.json()
    assert [c["name"] for c in body["columns"]] == ["customer_no", "name", "city", "source", "deleted"]
    assert body["unique_indexes"] == [
        {"name": "sqlite_autoindex_customers_1", "primary": True, "columns": ["customer_no"]}
    ]


def test_an_unknown_table_is_404_and_a_name_that_is_not_plain_has_no_route(api, connector):
    missing = api.get(url(connector, "schema/tables/nowhere/"))
    assert missing.status_code == 404
    assert "There is no table 'nowhere'" in missing.json()["detail"]
    assert api.get(url(connector, "schema/tables/x;drop/")).status_code == 404


def test_a_bad_environment_or_schema_or_a_non_database_connector_is_a_400_naming_it(api, connector, org):
    from connectors.models import Connector

    wrong = api.get(url(connector, "schema/tables/"), {"environment": "nowhere"})
    assert wrong.status_code == 400 and "environment" in wrong.json()["errors"]
    bad_schema = api.get(url(connector, "schema/tables/"), {"schema": "a b"})
    assert bad_schema.status_code == 400 and "schema" in bad_schema.json()["errors"]
    unset = api.get(url(connector, "schema/tables/"), {"environment": "production"})
    assert unset.status_code == 400 and "has no settings for 'production'" in str(unset.json())
    http = Connector.objects.create(organization=org, type_key="http", name="An API")
    refused = api.get(url(http, "schema/tables/"))
    assert refused.status_code == 400 and "only database connectors have tables" in str(refused.json())


def test_another_organizations_connector_is_404(outsider_api, connector):
    assert outsider_api.get(url(connector, "schema/tables/")).status_code == 404
    assert outsider_api.get(url(connector, "schema/tables/customers/")).status_code == 404
    assert (
        outsider_api.post(url(connector, "sync-preview/"), {"sync": SPEC, "rows": []}, format="json").status_code == 404
    )
    assert outsider_api.post(url(connector, "sync-check/"), {"sync": SPEC}, format="json").status_code == 404


def test_the_live_check_answers_problems_and_warnings(api, connector):
    response = api.post(url(connector, "sync-check/"), {"environment": "sandbox", "sync": SPEC}, format="json")
    assert response.status_code == 200
    assert response.json()["problems"] == [
        "Sync step: column 'extra' does not exist in table 'customers' "
        "(columns: customer_no, name, city, source, deleted)"
    ]
    static = api.post(url(connector, "sync-check/"), {"sync": {**SPEC, "key": ["nope"]}}, format="json").json()
    assert static["problems"] == ["Sync step: key column 'nope' is not assigned a value"]


def test_the_preview_shows_the_first_five_rows_as_written_with_an_error_per_field(api, connector):
    sample = [{"KUNNR": f"C-{n}", "NAME1": "nord", "ORT01": None} for n in range(7)]
    sample[1] = {"NAME1": "12"}
    response = api.post(url(connector, "sync-preview/"), {"sync": SPEC, "rows": sample}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["problems"] == []
    assert len(body["rows"]) == 5
    first, second = body["rows"][:2]
    assert first["values"] == {"customer_no": "C-0", "name": "NORD", "city": "unknown", "source": "SAP"}
    assert set(first["errors"]) == {"extra"} and first["errors"]["extra"].startswith("The mapping failed")
    assert second["values"] == {"name": "12", "city": "unknown", "source": "SAP", "extra": 12}
    assert second["errors"] == {"customer_no": "the key column has no value"}


def test_the_preview_lists_broken_assignments_and_evaluates_the_others(api, connector):
    spec = {**SPEC, "fields": [{"column": "customer_no", "expression": "KUNNR"}, {"column": "name", "expression": "("}]}
    body = api.post(url(connector, "sync-preview/"), {"sync": spec, "rows": [{"KUNNR": "C-1"}]}, format="json").json()
    assert body["rows"] == [{"values": {"customer_no": "C-1"}, "errors": {}}]
    assert body["problems"][0].startswith("Sync step: field 'name''s expression, line 1")


@pytest.mark.parametrize(
    ("body", "field"),
    [({"sync": SPEC, "rows": "x"}, "rows"), ({"sync": SPEC, "rows": [1]}, "rows"),
     ({"sync": "x", "rows": []}, "sync"), ({"sync": SPEC, "rows": [{}] * 101}, "rows")],
)  # fmt: skip
def test_a_bad_preview_request_is_a_400_naming_the_field(api, connector, body, field):
    response = api.post(url(connector, "sync-preview/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_viewer_may_list_tables_but_not_post(viewer_api, connector):
    assert viewer_api.get(url(connector, "schema/tables/")).status_code == 200
    assert (
        viewer_api.post(url(connector, "sync-preview/"), {"sync": SPEC, "rows": []}, format="json").status_code == 403
    )
