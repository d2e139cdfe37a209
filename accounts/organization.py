"""Which organization a request acts in, and with which role and scopes.

A bearer token fixes the organization (the token's); a browser session uses the organization the
user switched to, or their first one. Resolved once per request and stored on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts import auth_cache
from accounts.choices import Scope
from accounts.models import ApiToken, Membership

SESSION_KEY = "organization_id"


@dataclass(frozen=True)
class Actor:
    membership: Membership
    token: ApiToken | None

    @property
    def organization(self):
        return self.membership.organization

    @property
    def scopes(self) -> frozenset[str]:
        return frozenset(self.token.scopes) if self.token else frozenset(Scope.values)


def resolve(request, user, token: ApiToken | None = None) -> Actor | None:
    if user is None or not user.is_authenticated:
        return None

    def memberships():  # built on a cache miss only: building a query costs about what reading a cached one saves
        return Membership.objects.select_related("organization").filter(user=user)

    if token is not None:
        key = (user.pk, token.organization_id)
        membership = auth_cache.memberships.get(
            key, lambda: memberships().filter(organization=token.organization_id).first()
        )
    else:
        chosen = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        membership = (memberships().filter(organization=chosen).first() if chosen else None) or memberships().order_by(
            "organization__name"
        ).first()
    return Actor(membership, token) if membership else None


def attach(request, actor: Actor | None) -> None:
    request.actor = actor
    request.organization = actor.organization if actor else None
    request.membership = actor.membership if actor else None
