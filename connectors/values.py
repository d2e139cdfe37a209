"""Connector settings values: cleaned for storage, shown masked, resolved for drivers.

One module turns a type's ``fields`` into every rule a value obeys, so the API, the forms and the
runtime agree without a field list written twice. Three forms of the same settings exist:

- *incoming*: what a user sent (strings from a form, JSON from the API, the mask for a kept secret);
- *stored*: ``ConnectorSettings.values``: kinds coerced, defaults applied (so the saved record shows
  them), secrets encrypted with ``core.crypto``, ``{{ env.KEY }}`` references kept as written;
- *resolved*: plain values for a driver, built only when a pool opens or a test runs, because
  environment variables may change between saving a connector and using it.
"""

from __future__ import annotations

import re
from typing import Any

from connectors.catalog.base import ORGANIZATION
from core import crypto, masking

REFERENCE = re.compile(r"\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
TRUE = {"true", "1", "yes", "on"}
FALSE = {"false", "0", "no", "off"}
REQUIRED = "This field is required."


class SettingsInvalid(Exception):
    """Settings that cannot be stored or used; ``errors`` maps each field name to what is wrong."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _has_reference(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _check_references(value: str) -> str | None:
    """Settings may only reference environment variables: anything else in ``{{ }}`` is refused."""
    for template in TEMPLATE.findall(value):
        if not REFERENCE.fullmatch(template):
            return f"Only environment variables can be referenced here, as {{{{ env.KEY }}}}; found {template}."
    if value.count("{{") != len(TEMPLATE.findall(value)):
        return "A '{{' is not closed with '}}'."
    return None


def coerce(field, value: Any) -> Any:
    """The value in the field's kind; raises ValueError with a message for the user."""
    if field.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError("Enter a whole number.")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError("Enter a whole number.") from None
        if field.min is not None and number < field.min:
            raise ValueError(f"Must be at least {field.min}.")
        if field.max is not None and number > field.max:
            raise ValueError(f"Must be at most {field.max}.")
        return number
    if field.kind == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise ValueError("Enter true or false.")
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError("Enter text.")
    text = str(value) if field.kind == "text" else str(value).strip()
    if field.kind == "choice" and text not in {choice for choice, _ in field.choices}:
        allowed = ", ".join(choice for choice, _ in field.choices)
        raise ValueError(f"'{text}' is not one of the choices: {allowed}.")
    if field.kind == "url" and not re.match(r"^https?://[^\s/]+", text):
        raise ValueError("Enter an http:// or https:// URL.")
    if field.max is not None and field.kind != "int" and len(text) > field.max:
        raise ValueError(f"At most {field.max} characters.")
    return text


def clean(type_cls, incoming: dict, previous: dict | None = None, *, organization=None) -> dict:
    """The stored form of ``incoming``; a secret omitted, empty or sent as the mask keeps ``previous``'s.

    ``organization`` (or its id) owns the settings: a ``per_organization`` type's check needs it.
    """
    if not isinstance(incoming, dict):
        raise SettingsInvalid({"settings": "Send the settings as an object of field names and values."})
    previous = previous or {}
    known = {field.name for field in type_cls.fields}
    errors = {name: "Unknown setting for this connector type." for name in incoming if name not in known}
    stored: dict[str, Any] = {}
    for field in type_cls.fields:
        if not field.secret:
            try:
                stored[field.name] = _clean_plain(field, incoming.get(field.name))
            except ValueError as problem:
                errors[field.name] = str(problem)
    moved = [f.label for f in type_cls.fields if f.destination and _moved(f, stored, previous)]
    for field in type_cls.fields:
        if field.secret:
            try:
                stored[field.name] = _clean_secret(field, incoming.get(field.name), previous, moved)
            except ValueError as problem:
                errors[field.name] = str(problem)
    stored = {field.name: stored[field.name] for field in type_cls.fields if field.name in stored}
    if not errors:
        errors = type_cls().check(_checkable(type_cls, stored, getattr(organization, "pk", organization)))
    if errors:
        raise SettingsInvalid(errors)
    return stored


def _moved(field, stored: dict, previous: dict) -> bool:
    return field.name in stored and field.name in previous and stored[field.name] != previous[field.name]


def _clean_secret(field, raw: Any, previous: dict, moved: list[str]) -> str:
    if _is_empty(raw) or raw == masking.MASK:
        kept = previous.get(field.name) or ""
        if kept and moved:
            raise ValueError(
                f"{', '.join(moved)} changed, so enter the {field.label.lower()} again: a saved secret is only sent "
                "where it was entered for."
            )
        if field.required and not kept:
            raise ValueError(REQUIRED)
        return kept
    if not isinstance(raw, str):
        raise ValueError("Enter text.")
    if _has_reference(raw) and (problem := _check_references(raw)):
        raise ValueError(problem)
    return crypto.encrypt(raw)


def _clean_plain(field, raw: Any) -> Any:
    if _is_empty(raw):
        if field.default is None and field.required:
            raise ValueError(REQUIRED)
        return field.default
    if _has_reference(raw):
        if problem := _check_references(raw):
            raise ValueError(problem)
        return raw
    return coerce(field, raw)


def _checkable(type_cls, stored: dict, organization_id: int | None) -> dict:
    """What cross-field checks can judge before resolution: no secrets, no unresolved references."""
    checkable = {
        field.name: stored.get(field.name)
        for field in type_cls.fields
        if not field.secret and not _has_reference(stored.get(field.name))
    }
    if type_cls.per_organization:
        checkable[ORGANIZATION] = organization_id
    return checkable


def missing(type_cls, values: dict) -> list[str]:
    """Labels of the required fields ``values`` (incoming or stored) leaves empty."""
    return [
        field.label
        for field in type_cls.fields
        if field.required and field.default is None and _is_empty(values.get(field.name))
    ]


def public(type_cls, stored: dict) -> dict:
    """What responses and pages show: every value, with each stored secret replaced by the mask."""
    return {
        field.name: masking.mask(stored.get(field.name)) if field.secret else stored.get(field.name, field.default)
        for field in type_cls.fields
    }


def resolve(type_cls, stored: dict, environment) -> dict:
    """Plain values for a driver: secrets decrypted, references replaced by the environment's variables
    (and, for a ``per_organization`` type, the environment's organization under ``ORGANIZATION``)."""
    variables: dict[str, str] | None = None
    errors: dict[str, str] = {}
    resolved: dict[str, Any] = {}
    for field in type_cls.fields:
        value = stored.get(field.name, field.default)
        try:
            if field.secret and value:
                value = _decrypt(value)
            if _has_reference(value):
                if variables is None:
                    variables = environment.variables_dict()
                value = _substitute(value, variables, environment)
                value = None if _is_empty(value) else coerce(field, value)
            if field.required and _is_empty(value) and field.default is None:
                raise ValueError(REQUIRED)
        except ValueError as problem:
            errors[field.name] = str(problem)
        resolved[field.name] = value
    if type_cls.per_organization:
        resolved[ORGANIZATION] = environment.organization_id if environment is not None else None
    if not errors:
        errors = type_cls().check(resolved)
    if errors:
        raise SettingsInvalid(errors)
    return resolved


def _decrypt(token: str) -> str:
    try:
        return crypto.decrypt(token)
    except crypto.DecryptionError as problem:
        raise ValueError(f"The stored secret cannot be read ({problem}); enter it again.") from None


def _substitute(value: str, variables: dict[str, str], environment) -> str:
    def replace(match: re.Match) -> str:
        key = match.group(1)
        if key not in variables:
            raise ValueError(f"Refers to variable {key}, which the '{environment.name}' environment does not define.")
        return variables[key]

    return REFERENCE.sub(replace, value)


def secret_values(type_cls, resolved: dict) -> list[str]:
    """Secrets of resolved settings, and the credentials the type derives from them, for a ``Masker`` to hide
    (in every form they travel in) from any message or output that might echo them."""
    plain = [str(resolved[field.name]) for field in type_cls.fields if field.secret and resolved.get(field.name)]
    return plain + type_cls().derived_secrets(resolved)
