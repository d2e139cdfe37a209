"""Every API endpoint and every page, asked by every persona, answers as accounts/policy.py says.

Endpoints are discovered from the URL resolver, so one added later is walked too; an API view that
names no resource, or a page missing from ``PAGES`` below, fails with its name. Each request runs in
a transaction rolled back afterwards, so a permitted DELETE does not take the object from the next.

Outcomes: a refused role or scope is a 403, no credentials or a revoked token a 401 (pages: a
redirect to the login), and an object of organization A asked for by organization B's owner a 404.
A permitted request may still fail on its empty body (400, 404, 405, 409), but never with 401/403
or a 5xx. No persona ever gets a 2xx the table does not allow.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.db import transaction
from django.urls import URLResolver, get_resolver, reverse

from accounts.choices import Role, Scope
from accounts.models import Membership
from accounts.permissions import view_action
from accounts.policy import Action, rule_for
from tests.conftest import token_client
from tests.security.conftest import ROLES, api_session, revoked_client, session

pytestmark = pytest.mark.django_db

NOT_WALKED = {
    "login",
    "logout",
    "healthz",
    "webhook",  # the webhook receiver: its secret URL is its credential (tests/api/test_webhooks.py)
    "schema",
    "api-docs",
    "api-not-found",  # the JSON 404 for unknown API paths (tests/api/test_bad_input.py)
}
EVERY_MEMBER = None

# Pages: url name -> {method: (resource, action) or EVERY_MEMBER}.
PAGES = {
    "dashboard": {"GET": EVERY_MEMBER},
    "switch_organization": {"POST": EVERY_MEMBER},
    "environments": {"GET": ("environments", Action.READ)},
    "variable_new": {"GET": ("variables", Action.WRITE), "POST": ("variables", Action.WRITE)},
    "variable_edit": {"GET": ("variables", Action.WRITE), "POST": ("variables", Action.WRITE)},
    "variable_delete": {"POST": ("variables", Action.WRITE)},
    "tokens": {"GET": ("tokens", Action.READ), "POST": ("tokens", Action.MANAGE_TOKENS)},
    "token_revoke": {"POST": ("tokens", Action.MANAGE_TOKENS)},
    "members": {"GET": ("members", Action.READ), "POST": ("members", Action.MANAGE_MEMBERS)},
    "member_role": {"POST": ("members", Action.MANAGE_MEMBERS)},
    "member_remove": {"POST": ("members", Action.MANAGE_MEMBERS)},
    "connector_list": {"GET": ("connectors", Action.READ)},
    "connector_new": {"GET": ("connectors", Action.WRITE)},
    "connector_create": {"GET": ("connectors", Action.WRITE), "POST": ("connectors", Action.WRITE)},
    "connector_detail": {"GET": ("connectors", Action.READ)},
    "connector_edit": {"GET": ("connectors", Action.WRITE), "POST": ("connectors", Action.WRITE)},
    "connector_test": {"POST": ("connectors", Action.WRITE)},
    "connector_delete": {"GET": ("connectors", Action.WRITE), "POST": ("connectors", Action.WRITE)},
    "flow_list": {"GET": ("flows", Action.READ)},
    "flow_new": {"GET": ("flows", Action.WRITE), "POST": ("flows", Action.WRITE)},
    "flow_import": {"POST": ("flows", Action.WRITE)},
    "flow_detail": {"GET": ("flows", Action.READ)},
    "flow_edit": {"GET": ("flows", Action.WRITE), "POST": ("flows", Action.WRITE)},
    "flow_delete": {"POST": ("flows", Action.WRITE)},
    "flow_draft": {"POST": ("flows", Action.WRITE)},
    "flow_publish": {"POST": ("flows", Action.WRITE)},
    "flow_deploy": {"POST": ("flows", Action.DEPLOY)},
    "flow_diff": {"GET": ("flows", Action.READ)},
    "flow_export": {"GET": ("flows", Action.READ)},
    "flow_run": {"POST": ("flows", Action.RUN)},
    "flow_webhook": {"POST": ("flows", Action.ROTATE_WEBHOOK_SECRETS)},
    "flow_schedule_add": {"POST": ("flows", Action.WRITE)},
    "flow_schedule_change": {"POST": ("flows", Action.WRITE)},
    "execution_list": {"GET": ("executions", Action.READ)},
    "execution_detail": {"GET": ("executions", Action.READ)},
    "execution_replay": {"POST": ("executions", Action.REPLAY)},
    "execution_cancel": {"POST": ("executions", Action.CANCEL)},
    "monitoring": {"GET": ("monitoring", Action.READ)},
    "audit_log": {"GET": ("audit", Action.READ)},
    "alert_list": {"GET": ("alerts", Action.READ)},
    "alert_rule_new": {"GET": ("alerts", Action.WRITE), "POST": ("alerts", Action.WRITE)},
    "alert_rule_edit": {"GET": ("alerts", Action.WRITE), "POST": ("alerts", Action.WRITE)},
    "alert_rule_delete": {"POST": ("alerts", Action.WRITE)},
}
# A call the table permits may fail upstream: a managed call's remote answering badly is a 502 or 504.
UPSTREAM = (502, 504)
# URL keywords naming an object of organization A (others, like ``env_slug`` or a type key, exist everywhere).
OBJECT_KEYWORDS = {"pk", "slug"}

# What stands in for each URL keyword: by the URL's first segment for ``pk``, else by the keyword.
PK_BY_SEGMENT = {
    "connectors": "connector",
    "executions": "execution",
    "variables": "variable",
    "environments": "variable",
    "tokens": "token",
    "webhooks": "webhook",
    "schedules": "schedule",
    "flows": "schedule",  # flows/<slug>/schedules/<pk>/
    "audit": "audit_event",
    "members": "membership",
    "alert-rules": "alert_rule",
    "alerts": "alert_delivery",
}


def walk(resolver=None, prefix=""):
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            yield from walk(pattern, prefix + str(pattern.pattern))
        elif pattern.name not in NOT_WALKED and not prefix.startswith("admin/"):
            yield pattern, prefix + str(pattern.pattern)


def endpoints():
    found = []
    for pattern, _ in walk():
        cls = getattr(pattern.callback, "cls", None)
        kind = "api" if cls is not None else "page"
        found.append(pytest.param(pattern, kind, id=f"{kind}:{pattern.name}"))
    return found


def url_of(world, pattern, route: str) -> str:
    kwargs = {}
    first = route.replace("api/v1/^", "").lstrip("^").split("/")[0]
    for name in pattern.pattern.regex.groupindex:
        if name == "pk":
            attribute = PK_BY_SEGMENT.get(first)
            assert attribute, f"{pattern.name}: no sample object for <pk> under '{first}/' in PK_BY_SEGMENT"
            kwargs[name] = sample(world, attribute).pk
        elif name == "slug":
            kwargs[name] = world.managed_call.slug if first == "managed-calls" else world.flow.slug
        elif name in ("key", "type_key"):
            kwargs[name] = "postgres"
        elif name == "env_slug":
            kwargs[name] = "sandbox"
        elif name == "number":
            kwargs[name] = 1
        elif name == "table":
            kwargs[name] = "customers"
        else:
            pytest.fail(f"{pattern.name}: no sample value for the URL keyword <{name}>; add one to url_of()")
    return reverse(pattern.name, kwargs=kwargs)


def sample(world, attribute: str):
    """The World's object for a URL, or the editor's membership: one every admin may act on."""
    if attribute == "membership":
        return Membership.objects.get(organization=world.org, user=world.members[Role.EDITOR])
    return getattr(world, attribute)


def api_rules(pattern):
    """(method, rule) of every handler of an API view, from the policy table."""
    cls = pattern.callback.cls
    actions = getattr(pattern.callback, "actions", None)
    if actions is None:
        actions = {m: m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}
    resource = getattr(cls, "resource", None)
    assert resource, f"{pattern.name}: {cls.__name__} names no resource of accounts/policy.py"
    rules = []
    for method, name in actions.items():
        view = cls(action=name) if hasattr(pattern.callback, "actions") else cls()
        action = view_action(SimpleNamespace(method=method.upper()), view)
        rules.append((method.upper(), resource, action, rule_for(resource, action)))
    return rules


def ask(client, method: str, url: str, *, api: bool):
    with transaction.atomic():
        if api:
            response = client.generic(method, url, "{}", content_type="application/json")
        else:
            response = getattr(client, method.lower())(url)
        transaction.set_rollback(True)
    return response


def check_permitted(problems, who, method, url, response):
    if response.status_code in (401, 403) or (response.status_code >= 500 and response.status_code not in UPSTREAM):
        problems.append(f"{who} {method} {url}: permitted by the table, answered {response.status_code}")


def check_refused(problems, who, method, url, response, expected):
    if response.status_code != expected:
        problems.append(f"{who} {method} {url}: expected {expected}, answered {response.status_code}")


@pytest.mark.parametrize("pattern,kind", endpoints())
def test_every_endpoint_answers_as_the_table_says(world, outsider, other_org, pattern, kind):
    route = next(route for p, route in walk() if p is pattern)
    url = url_of(world, pattern, route)
    is_object = bool(OBJECT_KEYWORDS & set(pattern.pattern.regex.groupindex))
    problems: list[str] = []
    if kind == "api":
        for method, resource, action, rule in api_rules(pattern):
            _walk_api(problems, world, outsider, other_org, url, method, resource, action, rule, is_object)
    else:
        assert pattern.name in PAGES, f"page '{pattern.name}' ({route}) is missing from PAGES: say what it needs"
        for method, needed in PAGES[pattern.name].items():
            _walk_page(problems, world, outsider, url, method, needed, is_object)
    assert not problems, "\n".join(problems)


def _walk_api(problems, world, outsider, other_org, url, method, resource, action, rule, is_object):
    from rest_framework.test import APIClient

    check_refused(problems, "anonymous", method, url, ask(APIClient(), method, url, api=True), 401)
    revoked = revoked_client(world.org, world.members[Role.OWNER])
    check_refused(problems, "revoked token", method, url, ask(revoked, method, url, api=True), 401)
    for role in ROLES:
        user = world.members[role]
        permitted = rule.allows_role(role)
        who = f"{role} token"
        response = ask(token_client(world.org, user), method, url, api=True)
        if rule.scope is None:
            check_refused(problems, who, method, url, response, 403)
            response = ask(api_session(user), method, url, api=True)
            who = f"{role} session"
        if permitted:
            check_permitted(problems, who, method, url, response)
        else:
            check_refused(problems, who, method, url, response, 403)
    if rule.scope is not None:
        lacking = [scope for scope in Scope.values if scope != rule.scope]
        response = ask(token_client(world.org, world.members[Role.OWNER], lacking), method, url, api=True)
        check_refused(problems, f"token without {rule.scope}", method, url, response, 403)
    other = token_client(other_org, outsider) if rule.scope is not None else api_session(outsider)
    response = ask(other, method, url, api=True)
    if is_object:
        check_refused(problems, "another organization", method, url, response, 404)
    else:
        check_permitted(problems, "another organization", method, url, response)


def _walk_page(problems, world, outsider, url, method, needed, is_object):
    from django.test import Client

    response = ask(Client(), method, url, api=False)
    if response.status_code != 302 or "/login/" not in response.get("Location", ""):
        problems.append(f"anonymous {method} {url}: expected a redirect to the login, answered {response.status_code}")
    for role in ROLES:
        response = ask(session(world.members[role]), method, url, api=False)
        permitted = needed is EVERY_MEMBER or rule_for(*needed).allows_role(role)
        if permitted:
            check_permitted(problems, f"{role} session", method, url, response)
        else:
            check_refused(problems, f"{role} session", method, url, response, 403)
    response = ask(session(outsider), method, url, api=False)
    if is_object:
        check_refused(problems, "another organization", method, url, response, 404)
    else:
        check_permitted(problems, "another organization", method, url, response)


def test_every_api_resource_in_the_table_is_used_by_an_endpoint():
    """A rule no endpoint enforces is a promise the README makes and nothing keeps."""
    from accounts.policy import POLICY

    used = {getattr(p.callback.cls, "resource", None) for p, _ in walk() if hasattr(p.callback, "cls")}
    unused = set(POLICY) - used
    assert not unused, f"resources with rules but no endpoint: {sorted(unused)}"
