"""API representations of the monitoring figures over executions (``flows.monitoring``)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework import serializers

from flows import monitoring
from flows.execution_serializers import FlowBriefSerializer
from flows.models import Execution

MAX_EVENTS_LISTED = 1000
STATUSES = ", ".join(Execution.Status.values)


class StatusCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
    waiting = serializers.IntegerField()
    succeeded = serializers.IntegerField()
    completed_with_errors = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class PercentilesSerializer(serializers.Serializer):
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField()


class FlowStatsSerializer(serializers.Serializer):
    flow = FlowBriefSerializer()
    total = serializers.IntegerField()
    by_status = StatusCountsSerializer()
    duration_ms = PercentilesSerializer(help_text="started to finished")
    latency_ms = PercentilesSerializer(help_text="created to finished, queueing included")


class StatsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    flows = FlowStatsSerializer(many=True)


class TimelineSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    bucket_seconds = serializers.FloatField()
    starts = serializers.ListField(child=serializers.DateTimeField(), help_text="start of each slice")
    counts = serializers.DictField(
        child=serializers.ListField(child=serializers.IntegerField()), help_text="per status, one count per slice"
    )


class StepFigureSerializer(serializers.Serializer):
    flow = FlowBriefSerializer()
    name = serializers.CharField()
    runs = serializers.IntegerField()
    failures = serializers.IntegerField(help_text="failed, timed out or error ignored")
    p50_ms = serializers.FloatField(allow_null=True)
    p95_ms = serializers.FloatField(allow_null=True)


class StepFiguresSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    slowest = StepFigureSerializer(many=True)
    failing = StepFigureSerializer(many=True)


class MonitoringQuerySerializer(serializers.Serializer):
    """The body of the monitoring calls made with POST: a use case, a time range, an environment.

    ``from`` and ``to`` are ISO 8601 (a date is its midnight; ``to`` is exclusive), by default the
    24 hours before now. Unknown fields are refused, so a misspelt filter is not silently ignored.
    """

    use_case = serializers.CharField(required=False, max_length=255, help_text="a use case slug; all when omitted")
    since = serializers.CharField(required=False, help_text="'from': ISO 8601; default 24 hours before 'to'")
    until = serializers.CharField(required=False, help_text="'to': ISO 8601, exclusive; default now")
    environment = serializers.SlugField(required=False, help_text="environment slug")

    def get_fields(self):
        # ``from`` is a Python keyword: the fields are declared under other names and renamed here.
        fields = super().get_fields()
        fields["from"] = fields.pop("since")
        fields["to"] = fields.pop("until")
        return fields

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: [f"Unknown field (accepted fields: {', '.join(self.fields)})."]}
                )
        return super().to_internal_value(data)

    def validate(self, attrs):
        """``from`` and ``to`` as moments (``since``, ``until``), read as the GET calls read them."""
        try:
            until = monitoring.parse_moment(attrs.pop("to"), "to") if "to" in attrs else timezone.now()
            since = monitoring.parse_moment(attrs.pop("from"), "from") if "from" in attrs else None
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from None
        since = since or until - monitoring.DEFAULT_RANGE
        if since >= until:
            raise serializers.ValidationError({"to": ["to must be later than from."]})
        return {**attrs, "since": since, "until": until}


class EventQuerySerializer(MonitoringQuerySerializer):
    status = serializers.ListField(
        child=serializers.ChoiceField(
            choices=Execution.Status.choices,
            error_messages={"invalid_choice": f"Unknown status '{{input}}'; use one of: {STATUSES}."},
        ),
        required=False,
        allow_empty=False,
        help_text="execution statuses; all when omitted",
    )
    correlation_id = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_EVENTS_LISTED, default=100)


class EventRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="the execution the event started")
    use_case = serializers.CharField()
    environment = serializers.CharField()
    event_type = serializers.CharField(allow_null=True)
    timestamp = serializers.CharField(allow_null=True, help_text="as the event gave it")
    correlation_id = serializers.CharField()
    deduplication_id = serializers.CharField()
    ordering_key = serializers.CharField()
    replay_of = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=Execution.Status.choices)
    error = serializers.CharField()
    created = serializers.DateTimeField(help_text="accepted")
    started = serializers.DateTimeField(allow_null=True)
    finished = serializers.DateTimeField(allow_null=True)
    duration_ms = serializers.FloatField(allow_null=True, help_text="started to finished")
    latency_ms = serializers.FloatField(allow_null=True, help_text="accepted to finished")


class EventListSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    events = EventRecordSerializer(many=True, help_text="newest first")


class UseCaseStatsSerializer(FlowStatsSerializer):
    use_case = serializers.CharField()


class EventStatsSerializer(StatsSerializer):
    use_cases = UseCaseStatsSerializer(many=True, help_text="the executions events started, per use case")
