"""API representations of the monitoring figures over executions (``flows.monitoring``)."""

from __future__ import annotations

from rest_framework import serializers

from flows.execution_serializers import FlowBriefSerializer


class StatusCountsSerializer(serializers.Serializer):
    queued = serializers.IntegerField()
    running = serializers.IntegerField()
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
