"""The managed calls list narrows by connector, environment, enabled and a search over name and slug."""

from __future__ import annotations

import pytest

from connectors.models import Connector
from managed.models import ManagedCall

pytestmark = pytest.mark.django_db
LIST = "/api/v1/managed-calls/"


@pytest.fixture
def partner(org):
    return Connector.objects.create(organization=org, type_key="http", name="Partner API")


@pytest.fixture
def shop(org):
    return Connector.objects.create(organization=org, type_key="http", name="Shop API")


@pytest.fixture
def calls(org, sandbox, production, partner, shop):
    def call(name, slug, connector, environment, enabled=True):
        return ManagedCall.objects.create(
            organization=org,
            name=name,
            slug=slug,
            connector=connector,
            environment=environment,
            request="GET /x",
            enabled=enabled,
        )

    return [
        call("Get customer", "get-customer", partner, sandbox),
        call("List customers", "customers", partner, production),
        call("Post order", "post-order", shop, production, enabled=False),
    ]


def slugs(api, **params) -> set[str]:
    response = api.get(LIST, params)
    assert response.status_code == 200, response.content
    return {call["slug"] for call in response.json()["results"]}


def test_connector_keeps_the_calls_through_that_connector(api, calls, partner, shop, other_org):
    assert slugs(api, connector=partner.pk) == {"get-customer", "customers"}
    assert slugs(api, connector=shop.pk) == {"post-order"}
    theirs = Connector.objects.create(organization=other_org, type_key="http", name="Their API")
    assert slugs(api, connector=theirs.pk) == set()


def test_environment_keeps_the_calls_of_that_environment_named_as_elsewhere(api, calls, production):
    assert slugs(api, environment="production") == {"customers", "post-order"}
    assert slugs(api, environment="Sandbox") == {"get-customer"}
    assert slugs(api, environment=production.pk) == {"customers", "post-order"}
    assert slugs(api, environment="staging") == set()


def test_enabled_keeps_the_calls_that_are_or_are_not(api, calls):
    assert slugs(api, enabled="false") == {"post-order"}
    assert slugs(api, enabled="true") == {"get-customer", "customers"}
    assert slugs(api) == {"get-customer", "customers", "post-order"}


def test_q_searches_name_and_slug_in_any_case(api, calls):
    assert slugs(api, q="CUSTOMER") == {"get-customer", "customers"}
    assert slugs(api, q="post-") == {"post-order"}
    assert slugs(api, q="invoice") == set()


@pytest.mark.parametrize("name,value", [("connector", "abc"), ("connector", "1.5"), ("enabled", "maybe")])
def test_a_value_the_filter_cannot_read_is_a_400_naming_the_parameter(api, calls, name, value):
    response = api.get(LIST, {name: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [name]
    assert response.json()["detail"].startswith(f"{name}: ")


def test_the_filters_narrow_the_list_only_never_one_call(api, calls):
    response = api.get(f"{LIST}post-order/", {"enabled": "true", "environment": "sandbox"})
    assert response.status_code == 200, response.content
    assert response.json()["slug"] == "post-order"
