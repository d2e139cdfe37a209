"""API errors as JSON a person can act on: ``{"detail": ..., "errors": {field: [...]}}``.

Also what answers before any API view runs: an unknown path under ``/api/`` (``not_found``, the
project's ``handler404``) and a refused query string (``core.middleware``) answer the same JSON,
while pages keep their HTML.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


def api_exception_handler(exc, context):
    if isinstance(exc, RequestDataTooBig):
        return Response({"detail": _too_large(context.get("request"))}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
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


def _too_large(request) -> str:
    try:
        size = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
    except ValueError:
        size = 0
    return too_large_message(size, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def too_large_message(size: int, limit: int) -> str:
    """What every 413 says; ``size`` is 0 when the body did not declare its length."""
    if size > limit:
        return f"The request body is {size:,} bytes; the limit is {limit:,} bytes. Send a smaller payload."
    return f"The request body is larger than the limit of {limit:,} bytes. Send a smaller payload."


def _summary(errors) -> str:
    parts = []
    for field, messages in errors.items():
        path, first = _first_message(messages)
        where = ": ".join(str(part) for part in (field, *path) if part != "non_field_errors")
        parts.append(f"{where}: {first}" if where else str(first))
    return "; ".join(parts) or "Invalid input."


def _first_message(messages, path: tuple = ()) -> tuple[tuple, str]:
    """The first message of a nested error (lists of them, objects of them) and the keys leading to it."""
    if isinstance(messages, dict) and messages:
        key, inner = next(iter(messages.items()))
        return _first_message(inner, (*path, key))
    if isinstance(messages, list):
        for index, inner in enumerate(messages):
            if isinstance(inner, dict) and inner:
                return _first_message(inner, (*path, index))
            if inner not in ({}, [], None, ""):
                return _first_message(inner, path)
        return path, "invalid value"
    return path, str(messages)


def answers_json(path: str) -> bool:
    """Whether ``path`` belongs to a JSON client: the API, or a webhook URL (``/hooks/<token>``)."""
    return path == "/api" or path.startswith(("/api/", "/hooks/"))


def json_error(message: str, status_code: int, field: str | None = None) -> JsonResponse:
    """An error in the API's shape, for answers given outside DRF."""
    data: dict = {"detail": message}
    if field is not None:
        data["errors"] = {field: [message]}
    return JsonResponse(data, status=status_code)


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    """``handler404``: under ``/api/`` a JSON 404 like every API answer (not Django's HTML page)."""
    if answers_json(request.path):
        return json_error(f"No API endpoint at {request.path}; the endpoints are listed at /api/docs/.", 404)
    return defaults.page_not_found(request, exception)
