"""``connectors.lookups``: a delivery's connectors kept a second per process, only its organization's,
a change made in the process seen at once."""

from __future__ import annotations

import pytest

from connectors import lookups
from connectors.models import Connector

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh():
    lookups.forget_everything()
    yield
    lookups.forget_everything()


def test_the_rows_are_read_once_within_the_second(org, django_assert_num_queries):
    first = Connector.objects.create(organization=org, type_key="sqlite", name="One")
    second = Connector.objects.create(organization=org, type_key="sqlite", name="Two")
    with django_assert_num_queries(1):
        found = lookups.of_organization(org.pk, [second.pk, first.pk, first.pk])
        again = lookups.of_organization(org.pk, [first.pk, second.pk])
    assert set(found) == {first.pk, second.pk} and again is found


def test_another_organizations_connector_is_not_found(org, other_org):
    theirs = Connector.objects.create(organization=other_org, type_key="sqlite", name="Theirs")
    assert lookups.of_organization(org.pk, [theirs.pk]) == {}


def test_a_change_in_this_process_is_seen_at_once(org):
    connector = Connector.objects.create(organization=org, type_key="sqlite", name="Before")
    assert lookups.of_organization(org.pk, [connector.pk])[connector.pk].name == "Before"

    connector.name = "After"
    connector.save()
    assert lookups.of_organization(org.pk, [connector.pk])[connector.pk].name == "After"

    connector.delete()
    assert lookups.of_organization(org.pk, [connector.pk]) == {}


def test_a_change_made_elsewhere_is_seen_once_the_entry_expired(org, monkeypatch):
    connector = Connector.objects.create(organization=org, type_key="sqlite", name="Before")
    lookups.of_organization(org.pk, [connector.pk])
    Connector.objects.filter(pk=connector.pk).update(name="Elsewhere")  # no signal: as another process
    assert lookups.of_organization(org.pk, [connector.pk])[connector.pk].name == "Before"

    clock = lookups._connectors.clock
    monkeypatch.setattr(lookups._connectors, "clock", lambda: clock() + lookups.SECONDS + 0.01)
    assert lookups.of_organization(org.pk, [connector.pk])[connector.pk].name == "Elsewhere"
