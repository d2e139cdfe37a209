"""No connector API response and no connector page ever holds a stored secret; the database holds ciphertext only.

Connectors get known secrets (typed in the API and in the page form, and kept in a secret
variable referenced as ``{{ env.KEY }}``), pools are opened and tests run, then every endpoint and
every page is fetched as the owner, an editor and a viewer, and each body is searched for the
secrets and for their stored ciphertexts.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from accounts.models import Variable
from connectors import pools, runtime
from connectors.catalog.base import Deadline
from connectors.models import Connector, ConnectorSettings
from core import crypto
from tests.conftest import token_client
from tests.connectors.conftest import SECRET

pytestmark = pytest.mark.django_db

FORM_SECRET = "typed-in-the-form-9f2c71"
VARIABLE_SECRET = "kept-in-a-variable-4be01d"
EDIT_SECRET = "sent-with-a-bad-edit-77aa10"
SECRETS = (SECRET, FORM_SECRET, VARIABLE_SECRET, EDIT_SECRET)


@pytest.fixture
def secret_connectors(create_connector, session_client, api, pg_values, org, production):
    """Three connectors holding every kind of secret, each tested and one with a live pool."""
    Variable.objects.create(
        organization=org,
        environment=production,
        key="PG_PASSWORD",
        value=crypto.encrypt(VARIABLE_SECRET),
        secret=True,
    )
    typed = create_connector(name="Typed", settings={"sandbox": pg_values})
    referenced = create_connector(
        name="Referenced", settings={"production": {**pg_values, "password": "{{ env.PG_PASSWORD }}"}}
    )
    form = {"name": "From the form", "version": "1", "scope": "everyone", "env-sandbox": "on"}
    form.update({f"sandbox__{k}": v for k, v in {**pg_values, "password": FORM_SECRET}.items()})
    assert session_client.post("/connectors/new/postgres/", form).status_code == 302
    from_form = Connector.objects.get(name="From the form")
    for body, env in ((typed, "sandbox"), (referenced, "production")):
        assert api.post(f"/api/v1/connectors/{body['id']}/test/", {"environment": env}, format="json").json()["ok"]
    connector = Connector.objects.get(pk=typed["id"])
    runtime.call(connector, connector.settings.get().environment, "SELECT 1", {}, Deadline(5000))
    yield [typed["id"], referenced["id"], from_form.pk]
    pools.close_all()


def stored_tokens() -> list[str]:
    return [row.values["password"] for row in ConnectorSettings.objects.all() if row.values.get("password")]


def assert_clean(text: str, where: str, tokens: list[str]) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret appears in {where}"
    for token in tokens:
        assert token not in text, f"a stored ciphertext appears in {where}"


def api_calls(ids: list[int], pg_values: dict) -> list[tuple[str, str, dict | None]]:
    calls = [
        ("get", "/api/v1/connectors/", None),
        ("get", "/api/v1/connectors/?q=e&environment=sandbox", None),
        ("get", "/api/v1/connector-types/", None),
        ("get", "/api/v1/connector-types/postgres/", None),
        (
            "post",
            "/api/v1/connectors/test/",
            {"type": "postgres", "environment": "sandbox", "settings": {**pg_values, "password": EDIT_SECRET}},
        ),
        (
            "post",
            "/api/v1/connectors/test/",
            {
                "type": "postgres",
                "environment": "sandbox",
                "settings": {**pg_values, "password": EDIT_SECRET, "port": "x"},
            },
        ),
        (
            "post",
            "/api/v1/connectors/",
            {
                "name": "Refused",
                "type": "postgres",
                "settings": {"sandbox": {**pg_values, "password": EDIT_SECRET, "port": 0}},
            },
        ),
    ]
    for pk in ids:
        base = f"/api/v1/connectors/{pk}/"
        calls += [
            ("get", base, None),
            ("get", f"{base}usage/", None),
            ("get", f"{base}pool-stats/", None),
            ("post", f"{base}test/", {"environment": "sandbox"}),
            ("post", f"{base}test/", {"environment": "production"}),
            ("patch", base, {"settings": {"sandbox": {"password": EDIT_SECRET, "max_pool": -1}}}),
            ("patch", base, {"description": "scanned"}),
        ]
    return calls


def test_no_api_response_holds_a_secret(secret_connectors, org, owner, editor, viewer, pg_values):
    tokens = stored_tokens()
    assert len(tokens) == 3
    for user in (owner, editor, viewer):
        client = token_client(org, user)
        for method, path, body in api_calls(secret_connectors, pg_values):
            response = getattr(client, method)(path, body, format="json") if body else getattr(client, method)(path)
            assert response.status_code < 500, (method, path)
            assert_clean(response.content.decode(), f"{method.upper()} {path} as {user}", tokens)


def page_paths(ids: list[int]) -> list[str]:
    paths = ["/connectors/", "/connectors/?q=e", "/connectors/new/", "/connectors/new/postgres/"]
    for pk in ids:
        paths += [f"/connectors/{pk}/", f"/connectors/{pk}/edit/", f"/connectors/{pk}/delete/"]
    return paths


def test_no_page_holds_a_secret(secret_connectors, owner, editor, viewer, pg_values):
    tokens = stored_tokens()
    for user in (owner, editor, viewer):
        client = Client()
        client.force_login(user)
        for path in page_paths(secret_connectors):
            response = client.get(path)
            assert response.status_code in (200, 403, 404), path
            assert_clean(response.content.decode(), f"{path} as {user}", tokens)
        for pk in secret_connectors:
            response = client.post(f"/connectors/{pk}/test/", {"environment": "sandbox"}, follow=True)
            assert_clean(response.content.decode(), f"the test of {pk} as {user}", tokens)


def test_forms_sent_back_with_errors_or_failed_tests_hold_no_secret(secret_connectors, session_client, pg_values):
    tokens = stored_tokens()
    refused = {"name": "Typed", "version": "1", "scope": "everyone", "env-sandbox": "on"}
    refused.update({f"sandbox__{k}": v for k, v in {**pg_values, "password": EDIT_SECRET, "port": "1"}.items()})
    for path in ("/connectors/new/postgres/", f"/connectors/{secret_connectors[0]}/edit/"):
        response = session_client.post(path, refused)
        assert response.status_code == 200
        text = response.content.decode()
        assert_clean(text, f"the form of {path} sent back", tokens)
        assert re.search(r'name="sandbox__password__sealed" value="v1:', text)


def test_raw_rows_hold_ciphertext_only(secret_connectors):
    by_name = {row.connector.name: row.values for row in ConnectorSettings.objects.select_related("connector")}
    assert crypto.decrypt(by_name["Typed"]["password"]) == SECRET
    assert crypto.decrypt(by_name["From the form"]["password"]) == FORM_SECRET
    assert crypto.decrypt(by_name["Referenced"]["password"]) == "{{ env.PG_PASSWORD }}"
    for values in by_name.values():
        assert values["password"].startswith("v1:")
        raw = json.dumps(values)
        for secret in SECRETS:
            assert secret not in raw
    last_tests = json.dumps(list(ConnectorSettings.objects.values_list("last_test", flat=True)))
    for secret in SECRETS:
        assert secret not in last_tests


def test_the_admin_shows_no_secret_nor_its_ciphertext(secret_connectors):
    from django.contrib.auth import get_user_model

    operator = get_user_model().objects.create_superuser("operator", "op@example.com", "pw-operator")
    client = Client()
    client.force_login(operator)
    tokens = stored_tokens()
    listing = client.get("/admin/connectors/connector/")
    assert listing.status_code == 200
    assert_clean(listing.content.decode(), "the admin list", tokens)
    for pk in secret_connectors:
        page = client.get(f"/admin/connectors/connector/{pk}/change/")
        assert page.status_code == 200
        assert_clean(page.content.decode(), f"the admin page of {pk}", tokens)
