"""The demo organization ``make run`` creates on first start, so a newcomer has something to open.

Other apps add their demo objects through ``DEMO_BUILDERS`` (a connector on a SQLite file, a
sample flow), each called with the new organization and its owner.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Environment, Organization, Variable

DEMO_SLUG = "demo"
DEMO_BUILDERS: list[Callable] = []


@transaction.atomic
def create_demo(username: str = "admin") -> tuple[Organization, str | None]:
    """Returns the demo organization and, the first time only, the admin's generated password."""
    existing = Organization.objects.filter(slug=DEMO_SLUG).first()
    if existing:
        return existing, None
    password = secrets.token_urlsafe(12)
    user = get_user_model().objects.create_superuser(username=username, email="", password=password)
    organization = Organization.create("Demo Company", owner=user, slug=DEMO_SLUG)
    sandbox = Environment.objects.get(organization=organization, slug="sandbox")
    Variable.objects.create(organization=organization, environment=sandbox, key="COMPANY_CODE", value="1000")
    for build in DEMO_BUILDERS:
        build(organization, user)
    return organization, password
