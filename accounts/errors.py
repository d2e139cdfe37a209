"""API errors as JSON a person can act on: ``{"detail": ..., "errors": {field: [...]}}``."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        response.data = {"detail": _summary(errors), "errors": errors}
    elif isinstance(exc, exceptions.NotFound) or response.status_code == 404:
        response.data = {"detail": "Not found."}
    return response


def _summary(errors) -> str:
    parts = []
    for field, messages in errors.items():
        first = messages[0] if isinstance(messages, list) and messages else messages
        if isinstance(first, dict):
            first = "invalid values"
        parts.append(f"{field}: {first}" if field != "non_field_errors" else str(first))
    return "; ".join(parts) or "Invalid input."
