from __future__ import annotations

import pytest

from accounts.models import Variable
from core import masking

pytestmark = pytest.mark.django_db


def create(api, **data):
    return api.post("/api/v1/variables/", {"environment": "sandbox", **data}, format="json")


def test_a_plain_variable_is_created_and_read_back(api):
    response = create(api, key="COMPANY", value="1000")
    assert response.status_code == 201, response.json()
    assert api.get(f"/api/v1/variables/{response.json()['id']}/").json()["value"] == "1000"


def test_a_secret_value_is_never_returned_after_saving(api):
    response = create(api, key="DB_PASSWORD", value="pa55word!", secret=True)
    assert response.status_code == 201
    assert response.json()["value"] == masking.MASK
    listing = api.get("/api/v1/variables/").content.decode()
    assert "pa55word!" not in listing
    assert Variable.objects.get(key="DB_PASSWORD").plain_value() == "pa55word!"


def test_sending_the_mask_back_keeps_the_secret(api):
    created = create(api, key="DB_PASSWORD", value="pa55word!", secret=True).json()
    response = api.patch(f"/api/v1/variables/{created['id']}/", {"value": masking.MASK}, format="json")
    assert response.status_code == 200
    assert Variable.objects.get(key="DB_PASSWORD").plain_value() == "pa55word!"


def test_turning_a_plain_variable_secret_encrypts_it(api):
    created = create(api, key="HOST", value="db.internal").json()
    api.patch(f"/api/v1/variables/{created['id']}/", {"secret": True}, format="json")
    variable = Variable.objects.get(key="HOST")
    assert variable.value.startswith("v1:")
    assert variable.plain_value() == "db.internal"


@pytest.mark.parametrize("key", ["1ABC", "A-B", "", "A B", "x" * 200])
def test_a_bad_key_is_refused_with_the_field_named(api, key):
    response = create(api, key=key, value="v")
    assert response.status_code == 400
    assert "key" in response.json()["errors"]


def test_a_duplicate_key_in_the_same_environment_is_refused(api):
    create(api, key="A", value="1")
    response = create(api, key="A", value="2")
    assert response.status_code == 400
    assert "already exists" in response.json()["detail"]
    assert Variable.objects.get(key="A").value == "1"


def test_the_same_key_may_exist_in_two_environments(api):
    assert create(api, key="A", value="1").status_code == 201
    response = api.post("/api/v1/variables/", {"environment": "production", "key": "A", "value": "2"}, format="json")
    assert response.status_code == 201


def test_an_unknown_environment_is_refused(api):
    response = api.post("/api/v1/variables/", {"environment": "staging", "key": "A", "value": "1"}, format="json")
    assert response.status_code == 400
    assert "environment" in response.json()["errors"]


def test_an_editor_cannot_change_variables_but_can_read_them(org, editor):
    from tests.conftest import token_client

    client = token_client(org, editor)
    assert client.get("/api/v1/variables/").status_code == 200
    response = client.post("/api/v1/variables/", {"environment": "sandbox", "key": "A", "value": "1"}, format="json")
    assert response.status_code == 403
    assert "admin" in response.json()["detail"]


def test_the_variables_page_masks_secrets_and_saves_edits(session_client, org):
    response = session_client.post(
        "/environments/sandbox/variables/new/", {"key": "PASSWORD", "value": "topsecret", "secret": "on"}
    )
    assert response.status_code == 302
    page = session_client.get("/environments/").content.decode()
    assert "PASSWORD" in page and "topsecret" not in page
    variable = Variable.objects.get(key="PASSWORD")
    edit_page = session_client.get(f"/environments/sandbox/variables/{variable.pk}/").content.decode()
    assert "topsecret" not in edit_page
    session_client.post(
        f"/environments/sandbox/variables/{variable.pk}/", {"key": "PASSWORD", "value": masking.MASK, "secret": "on"}
    )
    assert Variable.objects.get(pk=variable.pk).plain_value() == "topsecret"


def test_the_variables_page_shows_a_form_error_and_keeps_the_input(session_client):
    response = session_client.post("/environments/sandbox/variables/new/", {"key": "9bad", "value": "kept"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Use letters, digits and underscores" in page
    assert "kept" in page
