"""An outsider's token and session get 404 on every object of another organization."""

from __future__ import annotations

import pytest

from accounts.choices import Scope
from accounts.models import ApiToken, Environment, Variable

pytestmark = pytest.mark.django_db


@pytest.fixture
def victims(org, owner):
    sandbox = Environment.objects.get(organization=org, slug="sandbox")
    variable = Variable(organization=org, environment=sandbox, key="SECRET", secret=True)
    variable.set_value("do-not-leak")
    variable.save()
    token, _ = ApiToken.issue(organization=org, user=owner, name="victim", scopes=[Scope.FLOWS_READ])
    return {"environment": sandbox, "variable": variable, "token": token}


API_CALLS = [
    ("get", "/api/v1/environments/{environment.pk}/"),
    ("get", "/api/v1/variables/{variable.pk}/"),
    ("patch", "/api/v1/variables/{variable.pk}/"),
    ("put", "/api/v1/variables/{variable.pk}/"),
    ("delete", "/api/v1/variables/{variable.pk}/"),
    ("get", "/api/v1/tokens/{token.pk}/"),
    ("post", "/api/v1/tokens/{token.pk}/revoke/"),
]


@pytest.mark.parametrize("method,template", API_CALLS)
def test_an_outsider_token_gets_404(outsider_api, victims, method, template):
    response = getattr(outsider_api, method)(template.format(**victims), {}, format="json")
    assert response.status_code in (404, 403)
    if response.status_code == 403:
        # Tokens cannot manage tokens at all: refused before any lookup, so nothing is revealed.
        assert "tokens" in template
    assert Variable.objects.get(pk=victims["variable"].pk).plain_value() == "do-not-leak"


@pytest.mark.parametrize("method,template", API_CALLS)
def test_an_outsider_session_gets_404(outsider_session, victims, method, template):
    response = getattr(outsider_session, method)(template.format(**victims), {}, content_type="application/json")
    assert response.status_code == 404
    assert victims["token"].__class__.objects.get(pk=victims["token"].pk).state == "active"


def test_outsider_lists_show_nothing_of_another_organization(outsider_api, victims):
    variables = outsider_api.get("/api/v1/variables/").json()["results"]
    environments = outsider_api.get("/api/v1/environments/").json()["results"]
    assert variables == []
    assert victims["environment"].pk not in [env["id"] for env in environments]


PAGES = [
    ("get", "/environments/sandbox/variables/{variable.pk}/"),
    ("post", "/variables/{variable.pk}/delete/"),
    ("post", "/tokens/{token.pk}/revoke/"),
]


@pytest.mark.parametrize("method,template", PAGES)
def test_outsider_pages_get_404(outsider_session, victims, method, template):
    response = getattr(outsider_session, method)(template.format(**victims))
    assert response.status_code == 404
    assert Variable.objects.filter(pk=victims["variable"].pk).exists()


def test_switching_to_an_organization_one_is_not_a_member_of_is_404(outsider_session, org):
    assert outsider_session.post("/organization/switch/", {"organization": org.pk}).status_code == 404
