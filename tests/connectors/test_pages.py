"""The Connector Manager pages: list, type cards, the generated form with test-first saving, detail, access."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils.html import escape

from connectors import catalog
from connectors.models import Connector, ConnectorSettings
from core import crypto, masking
from tests.connectors.conftest import SECRET, closed_port

# From an input to the error shown under it (past its help text, if any).
ERROR_AFTER = r'[^>]*>\s*(<p class="help">[^<]*</p>\s*)?<p class="error">'

pytestmark = pytest.mark.django_db


def form_data(pg_values: dict, *, envs=("sandbox",), **common) -> dict:
    """What the browser posts for a PostgreSQL connector with ``pg_values`` in each of ``envs``."""
    data = {"name": "Warehouse", "version": "1.0", "description": "", "tags": "", "scope": "everyone"}
    data.update(common)
    for env in envs:
        data[f"env-{env}"] = "on"
        data.update({f"{env}__{name}": value for name, value in pg_values.items()})
    return data


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_empty_list_says_how_to_start(session_client):
    text = session_client.get("/connectors/").content.decode()
    assert "No connectors yet" in text
    assert 'href="/connectors/new/"' in text


def test_the_list_shows_type_version_environments_last_test_and_use(create_connector, session_client, pg_values):
    body = create_connector(name="Warehouse", version="2.4", tags=["erp"], settings={"sandbox": pg_values})
    create_connector(name="Ledger", settings={"production": pg_values})
    ConnectorSettings.objects.filter(connector_id=body["id"]).update(
        last_test={"ok": False, "message": "nothing answers", "stages": []}
    )
    text = session_client.get("/connectors/").content.decode()
    assert f'href="/connectors/{body["id"]}/">Warehouse</a>' in text
    assert 'class="type-icon type-database" data-icon="postgres"' in text
    assert "<td>2.4</td>" in text
    assert re.search(r"sandbox: failed", text)
    assert re.search(r"production: not tested", text)
    assert "unused" in text
    assert '<span class="pill tag">erp</span>' in text
    filtered = session_client.get("/connectors/?tag=erp").content.decode()
    assert "Warehouse" in filtered and "Ledger" not in filtered
    assert "No connector matches" in session_client.get("/connectors/?q=nothing-like-this").content.decode()


def test_new_connector_offers_a_searchable_card_per_type(session_client):
    text = session_client.get("/connectors/new/").content.decode()
    assert 'id="type-search"' in text
    for cls in catalog.all_types():
        assert f'href="/connectors/new/{cls.key}/"' in text
        assert f"<strong>{cls.label}</strong>" in text


def test_the_form_is_generated_from_the_type_fields_for_each_environment(session_client):
    postgres = catalog.type_class("postgres")
    text = session_client.get("/connectors/new/postgres/").content.decode()
    for env in ("sandbox", "production"):
        assert f'name="env-{env}"' in text
        for field in postgres.fields:
            assert f'name="{env}__{field.name}"' in text
    for field in postgres.fields:
        assert field.label in text
        assert escape(field.help) in text
    assert re.search(r'<input type="password" name="sandbox__password"', text)
    assert 'value="5432"' in text
    assert "Test and create" in text and "Save anyway" not in text
    assert session_client.get("/connectors/new/mongo/").status_code == 404


def test_creating_tests_first_then_saves_and_keeps_the_test(session_client, pg_values, org):
    response = session_client.post("/connectors/new/postgres/", form_data(pg_values, tags="erp, stock"), follow=True)
    connector = Connector.objects.get(organization=org, name="Warehouse")
    assert response.redirect_chain[-1][0] == f"/connectors/{connector.pk}/"
    assert "its connection test passed" in response.content.decode()
    row = ConnectorSettings.objects.get(connector=connector)
    assert crypto.decrypt(row.values["password"]) == SECRET
    assert row.values["max_pool"] == 20
    assert row.last_test["ok"] is True
    assert connector.tags == ["erp", "stock"]


def test_a_failed_test_shows_the_stages_and_offers_save_anyway_keeping_the_typed_secret(session_client, pg_values):
    data = form_data({**pg_values, "port": closed_port()})
    page = session_client.post("/connectors/new/postgres/", data)
    text = page.content.decode()
    assert page.status_code == 200
    assert "The connection test failed" in text
    assert "open TCP" in text and "nothing answers" in text
    assert 'name="save_anyway"' in text
    assert not Connector.objects.exists()
    assert SECRET not in text
    sealed = re.search(r'name="sandbox__password__sealed" value="([^"]+)"', text).group(1)
    assert crypto.decrypt(sealed) == SECRET
    assert re.search(r'name="sandbox__password" value="' + re.escape(masking.MASK), text)

    again = {**data, "sandbox__password": masking.MASK, "sandbox__password__sealed": sealed, "save_anyway": "1"}
    saved = session_client.post("/connectors/new/postgres/", again, follow=True)
    connector = Connector.objects.get(name="Warehouse")
    assert "although its test failed in Sandbox" in saved.content.decode()
    row = ConnectorSettings.objects.get(connector=connector)
    assert crypto.decrypt(row.values["password"]) == SECRET
    assert row.last_test["ok"] is False


def test_a_forged_sealed_secret_is_ignored(session_client, pg_values):
    data = form_data({**pg_values, "password": masking.MASK})
    data["sandbox__password__sealed"] = "v1:deadbeef:bm90IGEgcmVhbCB0b2tlbg=="
    session_client.post("/connectors/new/postgres/", data)
    assert ConnectorSettings.objects.get().values["password"] == ""


def test_invalid_settings_are_shown_on_their_field_and_nothing_is_saved(session_client, pg_values):
    data = form_data(pg_values, envs=("sandbox", "production"))
    data.update({"sandbox__host": "", "production__min_idle": "50"})
    text = session_client.post("/connectors/new/postgres/", data).content.decode()
    assert not Connector.objects.exists()
    assert re.search(r'name="sandbox__host"' + ERROR_AFTER + "This field is required.", text)
    assert re.search(r'name="production__min_idle"' + ERROR_AFTER + "Cannot be more", text)
    # Each field's error, and on each environment what to do about it.
    assert "Fill in the sandbox settings or untick Sandbox." in text
    assert "Correct the production settings or untick Production." in text
    assert text.count('<p class="error">') == 4
    assert SECRET not in text


def test_a_duplicate_name_is_an_error_on_the_name(create_connector, session_client, pg_values):
    create_connector(name="Warehouse")
    text = session_client.post("/connectors/new/postgres/", form_data(pg_values)).content.decode()
    assert "already exists" in text
    assert Connector.objects.count() == 1


def test_editing_shows_the_mask_and_keeps_the_secret_when_it_comes_back(create_connector, session_client, pg_values):
    body = create_connector(name="Warehouse")
    token = ConnectorSettings.objects.get(connector_id=body["id"]).values["password"]
    text = session_client.get(f"/connectors/{body['id']}/edit/").content.decode()
    assert re.search(r'name="sandbox__password" value="' + re.escape(masking.MASK), text)
    assert SECRET not in text and token not in text
    data = form_data({**pg_values, "password": masking.MASK, "max_pool": "30"}, version="2.0")
    response = session_client.post(f"/connectors/{body['id']}/edit/", data)
    assert response.status_code == 302
    connector = Connector.objects.get(pk=body["id"])
    row = ConnectorSettings.objects.get(connector=connector)
    assert row.values["password"] == token
    assert (row.values["max_pool"], connector.version, connector.revision) == (30, "2.0", 2)


def test_the_connector_page_shows_masked_settings_tests_and_pool(create_connector, session_client):
    body = create_connector(name="Warehouse")
    test = session_client.post(f"/connectors/{body['id']}/test/", {"environment": "sandbox"}, follow=True)
    text = test.content.decode()
    assert "Sandbox: the connection test passed." in text
    assert "trivial statement" in text
    assert masking.MASK in text and SECRET not in text
    assert f"/api/v1/connectors/{body['id']}/pool-stats/" in text
    assert 'data-environment="sandbox"' in text
    assert "No flow uses this connector." in text


def test_a_viewer_sees_the_pages_without_ways_to_change(create_connector, viewer):
    body = create_connector(name="Warehouse")
    client = page_client(viewer)
    assert client.get("/connectors/").status_code == 200
    detail = client.get(f"/connectors/{body['id']}/").content.decode()
    assert "Warehouse" in detail and "Test connection" not in detail and "/edit/" not in detail
    for path in (
        "/connectors/new/",
        "/connectors/new/postgres/",
        f"/connectors/{body['id']}/edit/",
        f"/connectors/{body['id']}/delete/",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post(f"/connectors/{body['id']}/test/", {"environment": "sandbox"}).status_code == 403
    assert client.post(f"/connectors/{body['id']}/delete/").status_code == 403
    assert Connector.objects.filter(pk=body["id"]).exists()


def test_outsiders_and_members_outside_the_scope_get_404(create_connector, outsider_session, editor):
    body = create_connector(name="Payroll", scope="chosen")
    for client in (outsider_session, page_client(editor)):
        for path in ("", "edit/", "delete/"):
            assert client.get(f"/connectors/{body['id']}/{path}").status_code == 404
        assert client.post(f"/connectors/{body['id']}/test/", {"environment": "sandbox"}).status_code == 404
        assert "Payroll" not in client.get("/connectors/").content.decode()
