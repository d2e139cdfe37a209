"""Members of an organization: the API and the page, the rules that keep an organization governable,
tenant isolation and the audit trail."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts import members
from accounts.choices import Role
from accounts.models import Membership
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db


def signed_in(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def role_of(org, user) -> str | None:
    return Membership.objects.filter(organization=org, user=user).values_list("role", flat=True).first()


def membership(org, user) -> Membership:
    return Membership.objects.get(organization=org, user=user)


@pytest.fixture
def admin(org):
    user = make_user("ada")
    user.email = "ada@example.com"
    user.save()
    Membership.objects.create(organization=org, user=user, role=Role.ADMIN)
    return user


@pytest.fixture
def admin_api(admin) -> APIClient:
    return signed_in(admin)


@pytest.fixture
def owner_api(owner, org) -> APIClient:
    return signed_in(owner)


@pytest.fixture
def newcomer(db):
    user = make_user("nina")
    user.email = "Nina.Stone@example.com"
    user.save()
    return user


@pytest.fixture
def co_owner(org):
    user = make_user("otto")
    Membership.objects.create(organization=org, user=user, role=Role.OWNER)
    return user


# -- reading ---------------------------------------------------------------------------------------


def test_every_member_lists_the_organizations_members_with_role_and_join_date(org, owner, admin, viewer, outsider):
    response = signed_in(viewer).get("/api/v1/members/")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(r["username"], r["role"]) for r in rows] == [("ada", "admin"), ("olivia", "owner"), ("victor", "viewer")]
    ada = rows[0]
    assert ada["email"] == "ada@example.com"
    assert ada["id"] == membership(org, admin).pk
    assert parse_datetime(ada["joined"]) == membership(org, admin).created


def test_members_are_session_only_even_for_an_owners_token_with_every_scope(api):
    response = api.get("/api/v1/members/")
    assert response.status_code == 403
    assert "sign in to erpflow in a browser" in response.json()["detail"]


def test_editors_and_viewers_may_read_but_not_manage(org, editor, viewer, newcomer):
    for user in (editor, viewer):
        client = signed_in(user)
        added = client.post("/api/v1/members/", {"user": "nina", "role": "viewer"}, format="json")
        assert added.status_code == 403
        assert "needs 'admin'" in added.json()["detail"]
        target = membership(org, viewer).pk
        assert client.patch(f"/api/v1/members/{target}/", {"role": "editor"}, format="json").status_code == 403
        assert client.delete(f"/api/v1/members/{target}/").status_code == 403
    assert role_of(org, newcomer) is None
    assert role_of(org, viewer) == Role.VIEWER


# -- adding ----------------------------------------------------------------------------------------


def test_an_admin_adds_an_existing_user_by_username(org, admin_api, newcomer):
    response = admin_api.post("/api/v1/members/", {"user": "nina", "role": "editor"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "nina" and response.json()["role"] == "editor"
    assert role_of(org, newcomer) == Role.EDITOR


def test_an_admin_adds_an_existing_user_by_email_in_any_case(org, admin_api, newcomer):
    response = admin_api.post("/api/v1/members/", {"user": "nina.stone@EXAMPLE.com", "role": "viewer"}, format="json")
    assert response.status_code == 201, response.content
    assert role_of(org, newcomer) == Role.VIEWER


def test_an_unknown_user_is_a_400_naming_them(org, admin_api):
    response = admin_api.post("/api/v1/members/", {"user": "ghost", "role": "viewer"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["user"] == [
        "No user 'ghost'. Members are added from existing accounts: give a username or an email."
    ]
    assert Membership.objects.filter(organization=org).count() == 2


def test_an_email_shared_by_two_accounts_asks_for_the_username(admin_api):
    for name in ("sam1", "sam2"):
        user = make_user(name)
        user.email = "sam@example.com"
        user.save()
    response = admin_api.post("/api/v1/members/", {"user": "sam@example.com", "role": "viewer"}, format="json")
    assert response.status_code == 400
    assert "give the username instead" in response.json()["errors"]["user"][0]


def test_a_deactivated_account_cannot_be_added(admin_api, newcomer):
    newcomer.is_active = False
    newcomer.save()
    response = admin_api.post("/api/v1/members/", {"user": "nina", "role": "viewer"}, format="json")
    assert response.status_code == 400 and "No user 'nina'" in response.json()["detail"]


def test_adding_someone_already_in_is_a_409(org, admin_api, editor):
    response = admin_api.post("/api/v1/members/", {"user": "edith", "role": "viewer"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "edith is already a member (editor); change their role instead."
    assert role_of(org, editor) == Role.EDITOR


def test_missing_or_unknown_fields_are_400s_naming_the_field(admin_api):
    missing = admin_api.post("/api/v1/members/", {"role": "viewer"}, format="json")
    assert missing.status_code == 400 and "user" in missing.json()["errors"]
    wrong = admin_api.post("/api/v1/members/", {"user": "edith", "role": "superuser"}, format="json")
    assert wrong.status_code == 400 and "role" in wrong.json()["errors"]


def test_only_an_owner_gives_the_owner_role(org, admin_api, owner_api, newcomer, editor):
    refused = admin_api.post("/api/v1/members/", {"user": "nina", "role": "owner"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["role"] == ["Only an owner can give the owner role."]
    assert role_of(org, newcomer) is None
    promoted = admin_api.patch(f"/api/v1/members/{membership(org, editor).pk}/", {"role": "owner"}, format="json")
    assert promoted.status_code == 400 and "role" in promoted.json()["errors"]
    assert role_of(org, editor) == Role.EDITOR

    assert owner_api.post("/api/v1/members/", {"user": "nina", "role": "owner"}, format="json").status_code == 201
    assert role_of(org, newcomer) == Role.OWNER


# -- changing roles ---------------------------------------------------------------------------------


def test_an_admin_changes_a_members_role(org, admin_api, editor):
    response = admin_api.patch(f"/api/v1/members/{membership(org, editor).pk}/", {"role": "viewer"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "viewer"
    assert role_of(org, editor) == Role.VIEWER


def test_a_role_change_needs_a_role(org, admin_api, editor):
    response = admin_api.patch(f"/api/v1/members/{membership(org, editor).pk}/", {}, format="json")
    assert response.status_code == 400 and "role" in response.json()["errors"]


def test_nobody_changes_their_own_role(org, owner, admin, admin_api, co_owner, owner_api):
    response = admin_api.patch(f"/api/v1/members/{membership(org, admin).pk}/", {"role": "editor"}, format="json")
    assert response.status_code == 409
    assert response.json()["detail"] == "You cannot change your own role; another admin or owner has to."
    assert role_of(org, admin) == Role.ADMIN
    own = owner_api.patch(f"/api/v1/members/{membership(org, owner).pk}/", {"role": "admin"}, format="json")
    assert own.status_code == 409 and "your own role" in own.json()["detail"]
    assert role_of(org, owner) == Role.OWNER


def test_an_admin_can_neither_demote_nor_remove_an_owner(org, admin_api, co_owner):
    target = membership(org, co_owner).pk
    demoted = admin_api.patch(f"/api/v1/members/{target}/", {"role": "viewer"}, format="json")
    assert demoted.status_code == 409
    assert demoted.json()["detail"] == "otto is an owner; only an owner can change an owner's role."
    removed = admin_api.delete(f"/api/v1/members/{target}/")
    assert removed.status_code == 409
    assert removed.json()["detail"] == "otto is an owner; only an owner can remove an owner."
    assert role_of(org, co_owner) == Role.OWNER


def test_an_owner_demotes_another_owner(org, owner_api, co_owner):
    response = owner_api.patch(f"/api/v1/members/{membership(org, co_owner).pk}/", {"role": "admin"}, format="json")
    assert response.status_code == 200, response.content
    assert role_of(org, co_owner) == Role.ADMIN


def test_the_last_owner_can_be_neither_demoted_nor_removed(org, owner, owner_api, admin_api):
    target = membership(org, owner).pk
    demoted = owner_api.patch(f"/api/v1/members/{target}/", {"role": "admin"}, format="json")
    assert demoted.status_code == 409
    assert demoted.json()["detail"] == (
        "olivia is the last owner; make another member owner before changing their role."
    )
    for client in (owner_api, admin_api):
        removed = client.delete(f"/api/v1/members/{target}/")
        assert removed.status_code == 409
        assert "olivia is the last owner" in removed.json()["detail"]
    assert role_of(org, owner) == Role.OWNER


def test_of_two_owners_demoting_each_other_at_once_one_stays_owner(transactional_db, org, owner, co_owner):
    """Both requests read "two owners" unless the organization's row serializes them."""
    first, second = membership(org, owner), membership(org, co_owner)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(actor, target):
        try:
            barrier.wait()
            members.change_role(target, actor, Role.ADMIN)
            outcomes.append("changed")
        except members.MemberRefused as refused:
            outcomes.append(refused.message)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=demote, args=(first, second)),
        threading.Thread(target=demote, args=(second, first)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes)[0] == "changed" and "is the last owner" in sorted(outcomes)[1], outcomes
    assert Membership.objects.filter(organization=org, role=Role.OWNER).count() == 1


# -- removing --------------------------------------------------------------------------------------


def test_an_admin_removes_a_member_whose_tokens_then_stop_working(org, admin_api, editor):
    editors_token = token_client(org, editor)
    assert editors_token.get("/api/v1/environments/").status_code == 200
    response = admin_api.delete(f"/api/v1/members/{membership(org, editor).pk}/")
    assert response.status_code == 204
    assert role_of(org, editor) is None
    assert editors_token.get("/api/v1/environments/").status_code == 403


# -- another organization --------------------------------------------------------------------------


def test_another_organizations_memberships_answer_404_and_are_not_listed(org, editor, outsider, other_org, admin_api):
    theirs = membership(other_org, outsider).pk
    assert admin_api.get(f"/api/v1/members/{theirs}/").status_code == 404
    assert admin_api.patch(f"/api/v1/members/{theirs}/", {"role": "viewer"}, format="json").status_code == 404
    assert admin_api.delete(f"/api/v1/members/{theirs}/").status_code == 404
    assert role_of(other_org, outsider) == Role.OWNER

    ours = membership(org, editor).pk
    them = signed_in(outsider)
    assert them.get(f"/api/v1/members/{ours}/").status_code == 404
    assert them.patch(f"/api/v1/members/{ours}/", {"role": "viewer"}, format="json").status_code == 404
    assert them.delete(f"/api/v1/members/{ours}/").status_code == 404
    assert [r["username"] for r in them.get("/api/v1/members/").json()["results"]] == ["oscar"]
    assert role_of(org, editor) == Role.EDITOR
    assert page_client(outsider).post(f"/members/{ours}/role/", {"role": "viewer"}).status_code == 404
    assert page_client(outsider).post(f"/members/{ours}/remove/").status_code == 404
    assert role_of(org, editor) == Role.EDITOR


# -- the audit log ---------------------------------------------------------------------------------


def test_adding_changing_and_removing_are_in_the_audit_log_with_their_actor(org, api, admin_api, newcomer):
    added = admin_api.post("/api/v1/members/", {"user": "nina", "role": "viewer"}, format="json").json()
    assert admin_api.patch(f"/api/v1/members/{added['id']}/", {"role": "editor"}, format="json").status_code == 200
    assert admin_api.delete(f"/api/v1/members/{added['id']}/").status_code == 204

    log = api.get("/api/v1/audit/", {"object_type": "membership", "object_id": added["id"]})
    assert log.status_code == 200, log.content
    recorded = sorted(log.json()["results"], key=lambda event: event["id"])
    assert [(e["action"], e["actor_label"]) for e in recorded] == [
        ("create", "ada"),
        ("update", "ada"),
        ("delete", "ada"),
    ]
    assert recorded[1]["changes"] == {"role": ["viewer", "editor"]}
    assert recorded[2]["object_repr"] == "nina (editor)"


def test_a_refused_change_records_nothing(org, api, admin_api, co_owner):
    before = api.get("/api/v1/audit/", {"object_type": "membership"}).json()["count"]
    admin_api.patch(f"/api/v1/members/{membership(org, co_owner).pk}/", {"role": "viewer"}, format="json")
    admin_api.delete(f"/api/v1/members/{membership(org, co_owner).pk}/")
    assert api.get("/api/v1/audit/", {"object_type": "membership"}).json()["count"] == before


# -- the page --------------------------------------------------------------------------------------


def test_a_viewer_sees_the_list_without_controls(org, viewer, admin):
    response = page_client(viewer).get("/members/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'href="/members/"' in page  # the nav link
    assert 'data-member="ada"' in page and 'data-member="olivia"' in page
    assert "Add a member" not in page and "Change role" not in page and "Remove" not in page


def test_an_admin_sees_controls_except_on_owners_and_their_own_row(org, owner, admin, editor):
    page = page_client(admin).get("/members/").content.decode()
    assert 'id="add-member"' in page
    assert f'action="/members/{membership(org, editor).pk}/role/"' in page
    assert f'action="/members/{membership(org, editor).pk}/remove/"' in page
    assert "return confirm('Remove edith from Acme?" in page
    for untouchable in (owner, admin):
        assert f"/members/{membership(org, untouchable).pk}/" not in page
    assert '<option value="owner"' not in page


def test_an_owner_may_give_the_owner_role_on_the_page(org, owner, editor):
    page = page_client(owner).get("/members/").content.decode()
    assert '<option value="owner"' in page
    assert f'action="/members/{membership(org, editor).pk}/role/"' in page


def test_an_admin_adds_changes_and_removes_on_the_page(org, admin, newcomer):
    client = page_client(admin)
    added = client.post("/members/", {"user": "nina", "role": "editor"}, follow=True)
    assert "Added nina as editor." in added.content.decode()
    assert role_of(org, newcomer) == Role.EDITOR
    target = membership(org, newcomer).pk
    changed = client.post(f"/members/{target}/role/", {"role": "viewer"}, follow=True)
    assert "nina is now viewer." in changed.content.decode()
    assert role_of(org, newcomer) == Role.VIEWER
    removed = client.post(f"/members/{target}/remove/", follow=True)
    assert "Removed nina from Acme." in removed.content.decode()
    assert role_of(org, newcomer) is None


def test_the_page_shows_refusals_with_their_status(org, owner, admin, co_owner):
    client = page_client(admin)
    unknown = client.post("/members/", {"user": "ghost", "role": "viewer"})
    assert unknown.status_code == 400
    assert "No user &#x27;ghost&#x27;" in unknown.content.decode()
    as_owner = client.post("/members/", {"user": "ghost", "role": "owner"})
    assert as_owner.status_code == 400  # the form offers an admin no owner role
    duplicate = client.post("/members/", {"user": "otto", "role": "viewer"})
    assert duplicate.status_code == 409 and "otto is already a member (owner)" in duplicate.content.decode()
    demote = client.post(f"/members/{membership(org, co_owner).pk}/role/", {"role": "viewer"})
    assert demote.status_code == 409
    assert "otto is an owner; only an owner can change an owner&#x27;s role." in demote.content.decode()
    bad_role = client.post(f"/members/{membership(org, co_owner).pk}/role/", {"role": "king"})
    assert bad_role.status_code == 400 and "Choose one of the roles for otto." in bad_role.content.decode()
    own = client.post(f"/members/{membership(org, admin).pk}/role/", {"role": "viewer"})
    assert own.status_code == 409 and "You cannot change your own role" in own.content.decode()
    last = page_client(owner)
    Membership.objects.filter(organization=org, user=co_owner).update(role=Role.ADMIN)
    refused = last.post(f"/members/{membership(org, owner).pk}/remove/")
    assert refused.status_code == 409 and "olivia is the last owner" in refused.content.decode()
    assert role_of(org, owner) == Role.OWNER and role_of(org, admin) == Role.ADMIN


def test_viewers_and_editors_cannot_post_on_the_page(org, editor, viewer, newcomer):
    for user in (editor, viewer):
        client = page_client(user)
        assert client.post("/members/", {"user": "nina", "role": "viewer"}).status_code == 403
        assert client.post(f"/members/{membership(org, viewer).pk}/role/", {"role": "admin"}).status_code == 403
        assert client.post(f"/members/{membership(org, viewer).pk}/remove/").status_code == 403
    assert role_of(org, newcomer) is None and role_of(org, viewer) == Role.VIEWER
