"""Who belongs to an organization: adding existing users, changing roles, removing members.

The API and the members page call these functions; they hold the rules an organization relies on
to never lock itself out or be taken over from below:

- only an owner may give the owner role, or change or remove an owner's membership;
- the last owner can be neither demoted nor removed;
- nobody changes their own role (another admin or owner has to).

``accounts/policy.py`` has already decided that the actor may manage members at all (admin or
higher). Every change first locks the organization's row, so two admins acting at once are
serialized and the owner count a rule reads is still true when the change is written. Changes are
saved through the model (never ``update()``), so the audit log records each one with its actor.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import Http404

from accounts.choices import Role
from accounts.models import Membership, Organization


class MemberRefused(Exception):
    """A change the rules refuse: ``status`` 400 for a bad request (``field`` names the input), 409 for a
    change the organization's current members do not allow."""

    def __init__(self, message: str, *, status: int = 409, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field


def roles_grantable_by(actor: Membership) -> list[str]:
    """The roles ``actor`` may give: every role for an owner, all but owner for an admin."""
    return [role for role in Role.values if role != Role.OWNER or actor.role == Role.OWNER]


def find_user(identifier: str):
    """The active user whose username is ``identifier``, else whose email it is (case-insensitive)."""
    users = get_user_model().objects.filter(is_active=True)
    user = users.filter(username=identifier).first()
    if user is not None:
        return user
    if "@" in identifier:
        matches = list(users.filter(email__iexact=identifier)[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise MemberRefused(
                f"Several users have the email '{identifier}'; give the username instead.", status=400, field="user"
            )
    raise MemberRefused(
        f"No user '{identifier}'. Members are added from existing accounts: give a username or an email.",
        status=400,
        field="user",
    )


def _locked(organization: Organization, actor: Membership) -> Membership:
    """Lock the organization for this transaction; the actor's membership as it is now."""
    Organization.objects.select_for_update().get(pk=organization.pk)
    current = Membership.objects.filter(pk=actor.pk).first()
    if current is None:
        raise MemberRefused("You are no longer a member of this organization.", status=403)
    return current


def _current(target: Membership) -> Membership:
    try:
        return Membership.objects.select_related("user").get(pk=target.pk, organization_id=target.organization_id)
    except Membership.DoesNotExist:
        raise Http404("This member has just been removed.") from None


def _owners(organization_id: int) -> int:
    return Membership.objects.filter(organization_id=organization_id, role=Role.OWNER).count()


def _check_grant(actor: Membership, role: str) -> None:
    if role not in roles_grantable_by(actor):
        raise MemberRefused("Only an owner can give the owner role.", status=400, field="role")


@transaction.atomic
def add(organization: Organization, actor: Membership, identifier: str, role: str) -> Membership:
    actor = _locked(organization, actor)
    user = find_user(identifier)
    _check_grant(actor, role)
    existing = Membership.objects.filter(organization=organization, user=user).first()
    if existing is not None:
        raise MemberRefused(f"{user.get_username()} is already a member ({existing.role}); change their role instead.")
    return Membership.objects.create(organization=organization, user=user, role=role)


@transaction.atomic
def change_role(target: Membership, actor: Membership, role: str) -> Membership:
    actor = _locked(target.organization, actor)
    target = _current(target)
    if role == target.role:
        return target
    name = target.user.get_username()
    if target.role == Role.OWNER and _owners(target.organization_id) == 1:
        raise MemberRefused(f"{name} is the last owner; make another member owner before changing their role.")
    if target.pk == actor.pk:
        raise MemberRefused("You cannot change your own role; another admin or owner has to.")
    _check_grant(actor, role)
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise MemberRefused(f"{name} is an owner; only an owner can change an owner's role.")
    target.role = role
    target.save(update_fields=["role"])
    return target


@transaction.atomic
def remove(target: Membership, actor: Membership) -> None:
    actor = _locked(target.organization, actor)
    target = _current(target)
    name = target.user.get_username()
    if target.role == Role.OWNER and _owners(target.organization_id) == 1:
        raise MemberRefused(f"{name} is the last owner; make another member owner before removing them.")
    if target.role == Role.OWNER and actor.role != Role.OWNER:
        raise MemberRefused(f"{name} is an owner; only an owner can remove an owner.")
    target.delete()
