"""API permissions: membership of the organization, then the role and token scope ``accounts.policy`` asks for.

A view names its resource (``resource = "connectors"``); safe methods are ``read`` and the rest
``write``, unless an action or handler is marked with ``@requires(Action.RUN)``. The role and scope
needed come from the policy table only, so what is enforced is what the table (and README) says.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.models import ApiToken
from accounts.organization import attach, resolve
from accounts.policy import Action, Rule, rule_for


def actor_for(request):
    token = request.auth if isinstance(request.auth, ApiToken) else None
    actor = resolve(request._request, request.user, token)
    attach(request._request, actor)
    return actor


def view_action(request, view) -> Action:
    """The policy action of this request: the handler's ``@requires`` mark, else the view's ``policy_action``
    (an APIView doing one thing), else read or write by method."""
    name = getattr(view, "action", None) or request.method.lower()
    handler = getattr(view, name, None)
    if handler is None:
        # Decided here because permissions run before DRF looks for the handler: a method the view does
        # not have is a 405, not an action the table would have to know.
        raise exceptions.MethodNotAllowed(request.method)
    marked = getattr(handler, "policy_action", None) or getattr(view, "policy_action", None)
    if marked is not None:
        return marked
    return Action.READ if request.method in permissions.SAFE_METHODS else Action.WRITE


def view_rule(request, view) -> tuple[str, Action, Rule]:
    resource = getattr(view, "resource", None)
    if resource is None:
        raise exceptions.PermissionDenied("This endpoint names no resource in the permissions table.")
    action = view_action(request, view)
    return resource, action, rule_for(resource, action)


class IsOrganizationMember(permissions.BasePermission):
    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated:
            raise exceptions.NotAuthenticated("Sign in, or send 'Authorization: Bearer <token>'.")
        actor = actor_for(request)
        if actor is None:
            raise exceptions.PermissionDenied("You are not a member of any organization.")
        resource, action, rule = view_rule(request, view)
        if actor.token is not None and rule.scope is None:
            raise exceptions.PermissionDenied("API tokens cannot do this; sign in to erpflow in a browser.")
        if rule.scope is not None and rule.scope not in actor.scopes:
            raise exceptions.PermissionDenied(f"This API token lacks the scope '{rule.scope}'.")
        if not rule.allows_role(actor.membership.role):
            raise exceptions.PermissionDenied(
                f"Your role '{actor.membership.role}' cannot {action} {resource}; it needs '{rule.role}' or higher."
            )
        return True


def requires(action: Action):
    """Marks a viewset action (or an APIView handler) with the policy action it performs."""

    def mark(func):
        func.policy_action = action
        return func

    return mark
