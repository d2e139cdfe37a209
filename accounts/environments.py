"""Finding an organization's environment from what a request names: one rule for every endpoint.

An environment is named by its slug everywhere. Where the API documents it (choosing the environment
of a connector's settings, a connection test, a managed call), its name in any case or its id is
accepted too. What is not found is refused with the slugs that exist, so the caller can correct it.
"""

from __future__ import annotations

from accounts.models import Environment


class UnknownEnvironment(ValueError):
    """No environment of the organization answers to the key; the message lists the ones there are."""


def find(organization, key, *, by_name_or_id: bool = False) -> Environment | None:
    environments = Environment.objects.filter(organization_id=_id(organization))
    text = "" if key is None else str(key).strip()
    if not text:
        return None
    found = environments.filter(slug=text).first()
    if found is None and by_name_or_id:
        found = environments.filter(name__iexact=text).first()
        if found is None and text.isdigit():
            found = environments.filter(pk=int(text)).first()
    return found


def get(organization, key, *, by_name_or_id: bool = False) -> Environment:
    """The environment ``key`` names; ``UnknownEnvironment`` says which exist when none does."""
    found = find(organization, key, by_name_or_id=by_name_or_id)
    if found is None:
        raise UnknownEnvironment(unknown_message(organization, key))
    return found


def unknown_message(organization, key) -> str:
    known = ", ".join(Environment.objects.filter(organization_id=_id(organization)).values_list("slug", flat=True))
    if key is None or not str(key).strip():
        return f"environment is required: one of {known}."
    return f"Unknown environment '{key}'; this organization has: {known}."


def _id(organization) -> int | None:
    """An organization's id, given the organization or its id (None finds nothing)."""
    return getattr(organization, "pk", organization)
