"""Who may see and use a connector: its scope, decided in one place for pages, API, graphs and runs.

A connector scoped to chosen users and groups is invisible to everyone else in the organization,
as if it did not exist (404, not 403); admins and owners always see every connector, since they
are the ones who manage scopes.
"""

from __future__ import annotations

from django.db.models import Prefetch, Q

from accounts.choices import Role
from accounts.models import Membership
from connectors import usage
from connectors.models import Connector, ConnectorSettings


def usable_by(user, organization):
    """The organization's connectors that ``user`` may see and use in flows."""
    connectors = Connector.objects.for_organization(organization)
    if user is None or not getattr(user, "is_authenticated", False):
        return connectors.none()
    membership = Membership.objects.filter(organization=organization, user=user).first()
    if membership is None:
        return connectors.none()
    if membership.at_least(Role.ADMIN):
        return connectors
    return connectors.filter(
        Q(scope=Connector.Scope.EVERYONE) | Q(allowed_users=user) | Q(allowed_groups__in=user.groups.all())
    ).distinct()


def visible_connectors(request):
    """The requester's connectors (scope applied) with what their pages and API representation read
    prefetched, and ``used_by`` counted."""
    # Explicit order: with the use count's GROUP BY, Django leaves out Meta.ordering.
    connectors = usage.with_use_counts(usable_by(request.user, request.organization)).order_by("name", "pk")
    return connectors.prefetch_related(
        Prefetch("settings", queryset=ConnectorSettings.objects.select_related("environment")),
        "allowed_users",
        "allowed_groups",
    )
