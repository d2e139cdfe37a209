"""API permissions: membership of the organization, the token's scopes and the member's role.

A viewset names its area (``scope_area = "connectors"``); safe methods need ``<area>:read`` and
the rest ``<area>:write``, unless an action names its own scope with ``required_scope``.
Writes need at least the editor role unless the view sets ``write_role``.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.choices import Role
from accounts.models import ApiToken
from accounts.organization import attach, resolve


def actor_for(request):
    token = request.auth if isinstance(request.auth, ApiToken) else None
    actor = resolve(request._request, request.user, token)
    attach(request._request, actor)
    return actor


def required_scope(request, view) -> str | None:
    action = getattr(view, "action", None)
    handler = getattr(view, action, None) if action else None
    scope = getattr(handler, "required_scope", None) or getattr(view, "required_scope", None)
    if scope:
        return scope
    area = getattr(view, "scope_area", None)
    if not area:
        return None
    return f"{area}:read" if request.method in permissions.SAFE_METHODS else f"{area}:write"


def required_role(request, view) -> str:
    action = getattr(view, "action", None)
    handler = getattr(view, action, None) if action else None
    role = getattr(handler, "required_role", None)
    if role:
        return role
    if request.method in permissions.SAFE_METHODS:
        return Role.VIEWER
    return getattr(view, "write_role", Role.EDITOR)


class IsOrganizationMember(permissions.BasePermission):
    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated("Sign in, or send 'Authorization: Bearer <token>'.")
        actor = actor_for(request)
        if actor is None:
            raise exceptions.PermissionDenied("You are not a member of any organization.")
        if actor.token is not None and getattr(view, "session_only", False):
            raise exceptions.PermissionDenied("API tokens cannot do this; sign in to erpflow in a browser.")
        scope = required_scope(request, view)
        if scope and scope not in actor.scopes:
            raise exceptions.PermissionDenied(f"This API token lacks the scope '{scope}'.")
        role = required_role(request, view)
        if not actor.membership.at_least(role):
            raise exceptions.PermissionDenied(
                f"Your role '{actor.membership.role}' cannot do this; it needs '{role}' or higher."
            )
        return True


def requires(scope: str | None = None, role: str | None = None):
    """Decorator for viewset actions that need a scope or role other than the area's default."""

    def mark(func):
        if scope:
            func.required_scope = scope
        if role:
            func.required_role = role
        return func

    return mark
