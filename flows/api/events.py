"""``POST /api/v1/events`` and ``POST /api/v1/events/replay``: batches of events for use cases.

Both answer 202 with one outcome per event, in order, once the batch is readable: a bad event is
rejected on its own (``flows.events``) and does not turn the batch into a 400. What makes the whole
request unreadable (not an object, no events, more than ``MAX_EVENTS``, an unknown environment) is
a 400, and nothing runs. Each event counts against the rate limits as one request, besides the
request itself, so a batch is not a way around them.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import Action
from core import ratelimit
from core.serializers import ErrorSerializer
from flows import events, payloads
from flows.api.errors import FlowsAPI, validated
from flows.models import EVENT_TYPES


class EventSerializer(serializers.Serializer):
    event_type = serializers.ChoiceField(choices=EVENT_TYPES)
    use_case_slug = serializers.CharField(required=False)
    event_name = serializers.CharField(required=False, help_text="older name of use_case_slug, used without it")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset")
    format = serializers.ChoiceField(choices=events.FORMATS, default="json")
    payload = serializers.CharField(help_text="the JSON or XML document, as a string")
    deduplication_id = serializers.CharField(required=False, max_length=payloads.MAX_ID_LENGTH)


class EventMetaSerializer(serializers.Serializer):
    correlation_id = serializers.CharField(required=False, max_length=payloads.MAX_ID_LENGTH)


class EventBatchSerializer(serializers.Serializer):
    meta = EventMetaSerializer(required=False)
    environment = serializers.SlugField(required=False, help_text="or the query parameter; required")
    events = EventSerializer(many=True, max_length=events.MAX_EVENTS)


class EventOutcomeSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="position in the request's list")
    event_id = serializers.IntegerField(required=False, help_text="replays: the execution replayed")
    id = serializers.IntegerField(allow_null=True, help_text="the execution (the first one for a duplicate)")
    outcome = serializers.ChoiceField(choices=[events.ACCEPTED, events.DUPLICATE, events.REJECTED])
    reason = serializers.CharField(required=False, help_text="why an event was rejected")


class EventBatchResultSerializer(serializers.Serializer):
    correlation_id = serializers.CharField(required=False)
    events = EventOutcomeSerializer(many=True)


class EventReplaySerializer(serializers.Serializer):
    event_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=events.MAX_EVENTS
    )


REFUSALS = {400: ErrorSerializer, 403: ErrorSerializer, 429: ErrorSerializer}


def too_many(request, count: int) -> Response | None:
    """A 429 when ``count`` more requests would pass the organization's (or token's) limit; else None."""
    verdict = ratelimit.take(
        ratelimit.limits_for(request.organization.pk, getattr(request.auth, "pk", None)), cost=count
    )
    if verdict is None or verdict.allowed:
        return None
    return Response(
        {"detail": f"{ratelimit.refusal(verdict)} Each event counts as a request."},
        status=status.HTTP_429_TOO_MANY_REQUESTS,
        headers={"Retry-After": str(verdict.retry_after)},
    )


class EventsView(FlowsAPI, APIView):
    """``POST /api/v1/events``: each event starts the deployed flow of its use case."""

    resource = "events"
    policy_action = Action.WRITE

    @extend_schema(
        operation_id="v1_events_create",
        request=EventBatchSerializer,
        parameters=[OpenApiParameter("environment", str, description="instead of the body's field")],
        responses={202: OpenApiResponse(EventBatchResultSerializer, description="one outcome per event"), **REFUSALS},
        description=(
            f"At most {events.MAX_EVENTS} events. Each is accepted (its execution's id), a duplicate (the id of "
            "the first execution with its deduplication_id within 24 hours) or rejected with the reason."
        ),
    )
    def post(self, request):
        batch = events.read_batch(
            request.data,
            query_environment=request.query_params.get("environment"),
            header_correlation=request.headers.get("X-Correlation-ID"),
        )
        environment = events.environment_for(request.organization, batch)
        refused = too_many(request, len(batch.events))
        if refused is not None:
            return refused
        outcomes = events.receive(
            request.organization,
            environment,
            batch,
            user=request.user,
            headers=payloads.recorded_headers(request._request),
        )
        return Response(
            {"correlation_id": batch.correlation_id, "events": [outcome.as_dict() for outcome in outcomes]},
            status=status.HTTP_202_ACCEPTED,
        )


class EventReplayView(FlowsAPI, APIView):
    """``POST /api/v1/events/replay``: run events again, each as a new execution linked to the first."""

    resource = "events"
    policy_action = Action.REPLAY

    @extend_schema(
        operation_id="v1_events_replay",
        request=EventReplaySerializer,
        responses={202: OpenApiResponse(EventBatchResultSerializer, description="one outcome per id"), **REFUSALS},
        description=f"At most {events.MAX_EVENTS} execution ids of events; each answers accepted or rejected.",
    )
    def post(self, request):
        ids = validated(EventReplaySerializer, request.data)["event_ids"]
        refused = too_many(request, len(ids))
        if refused is not None:
            return refused
        outcomes = events.replay(request.organization, ids, user=request.user)
        return Response({"events": [outcome.as_dict() for outcome in outcomes]}, status=status.HTTP_202_ACCEPTED)
