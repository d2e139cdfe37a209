"""How the flows API refuses: what the domain modules raise as answers, and 400s naming the bad field."""

from __future__ import annotations

from rest_framework import exceptions, status
from rest_framework.response import Response

from core.serializers import ErrorSerializer
from flows import triggers, webhooks
from flows.graph import InvalidGraph, Problem

ERRORS = {code: ErrorSerializer for code in (400, 403, 404, 409)}


class FlowsAPI:
    """What every view of this API shares.

    What the domain modules raise is answered, so that actions need no try blocks: ``TriggerError``
    with its own status, ``InvalidGraph`` as a 400 with one problem per step and ``WebhookExists`` as
    a 409. What every API shares is elsewhere: a body over ``ERPFLOW_MAX_REQUEST_BYTES`` is a JSON 413
    (``core.errors``), a body nested too deeply or holding a number out of range a 400
    (``core.parsers``), a NUL in a query parameter a 400 (``core.middleware``).
    """

    def handle_exception(self, exc):
        if isinstance(exc, triggers.TriggerError):
            return Response(exc.as_dict(), status=exc.status)
        if isinstance(exc, InvalidGraph):
            return problems_response(exc.problems, str(exc))
        if isinstance(exc, webhooks.WebhookExists):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


def invalid(field: str, message: str) -> exceptions.ValidationError:
    """A 400 about one field, in the shape every API error has (``errors`` holds lists)."""
    return exceptions.ValidationError({field: [message]})


def validated(serializer_class, data) -> dict:
    """``data`` checked by ``serializer_class``; a 400 naming each bad field otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def json_object(data, field: str, example: str) -> dict:
    """``data`` when the body was a JSON object (or empty); anything else is a 400 showing the expected shape."""
    if not isinstance(data, dict):
        raise invalid(field, f"The body must be a JSON object such as {example}.")
    return data


def problems_response(problems: list[Problem], detail: str) -> Response:
    """400 listing every problem, each naming its step (``errors`` keyed by step id, else by field)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.step or problem.field, []).append(problem.message)
    return Response(
        {"detail": detail, "problems": [p.as_dict() for p in problems], "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )
