"""Who may do what: the one table of roles and token scopes, read by the API, the pages and the tests.

Each entry names a resource (what a URL acts on) and an action, and gives the lowest role that may
do it and the token scope a bearer token needs for it. A scope of ``None`` means API tokens may
never do it (only a signed-in person in a browser), so a stolen token cannot mint more tokens.

Nothing else in the code decides a role or a scope: the API's permission class asks ``rule_for``,
the pages ask ``require``/``allows``, and tests/security walks every endpoint against this table.
A role or scope refusal is a 403 decided before any object is looked up (it reveals nothing about
the object); an object of another organization, or a connector outside the member's scope, is a 404.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import PermissionDenied

from accounts.choices import ROLE_RANK, Role, Scope


class Action(StrEnum):
    READ = "read"
    WRITE = "write"
    RUN = "run"
    REPLAY = "replay"
    CANCEL = "cancel"
    DEPLOY = "deploy"
    MANAGE_TOKENS = "manage tokens"
    MANAGE_MEMBERS = "manage members"
    ROTATE_WEBHOOK_SECRETS = "rotate webhook secrets"
    CHANGE_PROTECTED_FLOWS = "change protected flows"
    CHANGE_ADMIN_ONLY_SETTINGS = "change admin-only settings"


@dataclass(frozen=True)
class Rule:
    role: Role
    scope: Scope | None

    def allows_role(self, role: str) -> bool:
        return ROLE_RANK[Role(role)] >= ROLE_RANK[self.role]


VIEWER, EDITOR, ADMIN = Role.VIEWER, Role.EDITOR, Role.ADMIN

POLICY: dict[str, dict[Action, Rule]] = {
    "connectors": {
        Action.READ: Rule(VIEWER, Scope.CONNECTORS_READ),
        # Creating, changing, deleting and testing a connection (a test reaches out to a host).
        Action.WRITE: Rule(EDITOR, Scope.CONNECTORS_WRITE),
        # Settings a type marks ``admin_only`` (network allowlists, TLS verification): an editor who could
        # widen them could point a connector at internal services.
        Action.CHANGE_ADMIN_ONLY_SETTINGS: Rule(ADMIN, Scope.CONNECTORS_WRITE),
    },
    "flows": {
        Action.READ: Rule(VIEWER, Scope.FLOWS_READ),
        Action.WRITE: Rule(EDITOR, Scope.FLOWS_WRITE),
        Action.DEPLOY: Rule(EDITOR, Scope.FLOWS_WRITE),
        Action.RUN: Rule(EDITOR, Scope.EXECUTIONS_RUN),
        Action.ROTATE_WEBHOOK_SECRETS: Rule(EDITOR, Scope.FLOWS_WRITE),
        Action.CHANGE_PROTECTED_FLOWS: Rule(ADMIN, Scope.FLOWS_WRITE),
    },
    "executions": {
        Action.READ: Rule(VIEWER, Scope.MONITORING_READ),
        Action.REPLAY: Rule(EDITOR, Scope.EXECUTIONS_RUN),
        Action.CANCEL: Rule(EDITOR, Scope.EXECUTIONS_RUN),
    },
    # ``POST /api/v1/events`` and its replay: a scope of its own, so an ERP's token can send events
    # and nothing else.
    "events": {
        Action.WRITE: Rule(EDITOR, Scope.EVENTS_WRITE),
        Action.REPLAY: Rule(EDITOR, Scope.EVENTS_WRITE),
    },
    "monitoring": {
        Action.READ: Rule(VIEWER, Scope.MONITORING_READ),
    },
    "environments": {
        Action.READ: Rule(VIEWER, Scope.FLOWS_READ),
    },
    "variables": {
        Action.READ: Rule(VIEWER, Scope.FLOWS_READ),
        Action.WRITE: Rule(ADMIN, Scope.FLOWS_WRITE),
    },
    "tokens": {
        # Every member manages their own tokens, and only from a browser session.
        Action.READ: Rule(VIEWER, None),
        Action.MANAGE_TOKENS: Rule(VIEWER, None),
    },
    "members": {
        Action.READ: Rule(VIEWER, None),
        Action.MANAGE_MEMBERS: Rule(ADMIN, None),
    },
    "audit": {
        Action.READ: Rule(ADMIN, Scope.AUDIT_READ),
    },
    # Alert rules and the alerts sent: read like monitoring, changed like flows.
    "alerts": {
        Action.READ: Rule(VIEWER, Scope.MONITORING_READ),
        Action.WRITE: Rule(EDITOR, Scope.FLOWS_WRITE),
    },
}


class NotInPolicy(LookupError):
    """A view names a resource or action the table does not have: a programming error, never a 403."""


def rule_for(resource: str, action: Action) -> Rule:
    try:
        return POLICY[resource][action]
    except KeyError:
        raise NotInPolicy(f"accounts/policy.py has no rule for {action!s} on {resource!r}") from None


def allows(membership, resource: str, action: Action) -> bool:
    """Whether a member's role may do ``action`` (pages; a session has every scope)."""
    return membership is not None and rule_for(resource, action).allows_role(membership.role)


def require(request, resource: str, action: Action) -> None:
    """For pages: a 403 saying which role is needed when the member's role may not do this."""
    rule = rule_for(resource, action)
    if not allows(request.membership, resource, action):
        raise PermissionDenied(
            f"Your role '{request.membership.role}' cannot {action} here; it needs '{rule.role}' or higher."
        )


def table() -> list[dict]:
    """The table as rows, for the README and the tests."""
    return [
        {"resource": resource, "action": str(action), "role": str(rule.role), "scope": rule.scope}
        for resource, actions in POLICY.items()
        for action, rule in actions.items()
    ]
