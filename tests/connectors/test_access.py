"""Connector scope: who in the organization may see and use a connector."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from accounts.choices import Role
from accounts.models import Membership
from connectors.access import usable_by
from connectors.models import Connector
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def connectors(org):
    shared = Connector.objects.create(organization=org, type_key="postgres", name="shared")
    chosen = Connector.objects.create(organization=org, type_key="postgres", name="finance only", scope="chosen")
    return shared, chosen


def names(user, organization) -> set[str]:
    return set(usable_by(user, organization).values_list("name", flat=True))


def test_a_chosen_scope_hides_the_connector_from_members_not_chosen(org, editor, connectors):
    assert names(editor, org) == {"shared"}


def test_chosen_users_and_groups_see_it_once_each(org, editor, viewer, connectors):
    _, chosen = connectors
    chosen.allowed_users.add(editor)
    finance = Group.objects.create(name="finance")
    viewer.groups.add(finance)
    editor.groups.add(finance)
    chosen.allowed_groups.add(finance)
    assert names(editor, org) == {"shared", "finance only"}
    assert usable_by(editor, org).count() == 2
    assert names(viewer, org) == {"shared", "finance only"}


def test_admins_and_owners_see_every_connector_to_manage_scopes(org, owner, connectors):
    admin = make_user("admin-user")
    Membership.objects.create(organization=org, user=admin, role=Role.ADMIN)
    assert names(owner, org) == {"shared", "finance only"}
    assert names(admin, org) == {"shared", "finance only"}


def test_outsiders_and_anonymous_users_see_nothing(org, outsider, other_org, connectors):
    from django.contrib.auth.models import AnonymousUser

    assert names(outsider, org) == set()
    assert names(AnonymousUser(), org) == set()
    assert names(None, org) == set()
