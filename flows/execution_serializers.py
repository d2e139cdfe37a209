"""API representations of executions and their steps, and of replaying them in bulk.

A trigger that waits answers with an execution right on its hot path, so the read-only
serializers here build their fields once per class (``BuiltOnce``).
"""

from __future__ import annotations

import copy

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from flows import loop_progress
from flows.models import Execution, Flow, StepRun


class BuiltOnce:
    """For read-only serializers on the trigger's hot path: DRF builds a ModelSerializer's fields from the
    model anew for every instance (about a millisecond for an execution with its steps); here they are
    built once per class and copied, which is how DRF itself copies declared fields."""

    _built: dict[type, dict] = {}

    def get_fields(self):
        cls = type(self)
        if cls not in BuiltOnce._built:
            BuiltOnce._built[cls] = super().get_fields()
        return copy.deepcopy(BuiltOnce._built[cls])


class FlowBriefSerializer(BuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Flow
        fields = ["id", "slug", "name"]


class StepRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = [
            "position",
            "step_id",
            "name",
            "kind",
            "status",
            "scope",
            "item",
            "delivery",
            "attempt",
            "wait_ms",
            "started",
            "finished",
            "duration_ms",
            "instruction",
            "params",
            "output",
            "output_truncated",
            "error",
        ]


class StepSummarySerializer(BuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = StepRun
        fields = ["position", "scope", "item", "step_id", "name", "status", "attempt", "duration_ms", "error"]


class ExecutionSerializer(BuiltOnce, serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    flow = FlowBriefSerializer(read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    draft_snapshot = serializers.BooleanField(source="version.snapshot", read_only=True)
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    deduplication_id = serializers.CharField(source="deduplication_key", read_only=True)
    started_by = serializers.CharField(source="started_by.username", read_only=True, default=None, allow_null=True)
    duration_ms = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Execution
        fields = [
            "id",
            "url",
            "flow",
            "version",
            "draft_snapshot",
            "environment",
            "trigger",
            "status",
            "correlation_id",
            "deduplication_id",
            "replay_of",
            "started_by",
            "created",
            "started",
            "finished",
            "duration_ms",
            "error",
        ]
        read_only_fields = fields

    def get_url(self, execution: Execution) -> str:
        return reverse("execution-detail", kwargs={"pk": execution.pk}, request=self.context.get("request"))


class ExecutionResultSerializer(ExecutionSerializer):
    """What a trigger that waited answers: the outcome with a summary of each step."""

    output = serializers.JSONField(read_only=True)
    steps = StepSummarySerializer(many=True, read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "output", "steps"]
        read_only_fields = fields


class LoopProgressSerializer(serializers.Serializer):
    step_id = serializers.CharField()
    name = serializers.CharField()
    total = serializers.IntegerField(help_text="items (batches) the list gave")
    done = serializers.IntegerField(help_text="items whose body finished, failed ones included")
    failed = serializers.IntegerField()


class ExecutionDetailSerializer(ExecutionSerializer):
    """One execution with every step record; the records of a for-each's body carry their ``scope``
    (``loop[3]``) and ``item``, and ``loops`` sums them up per for-each."""

    input = serializers.JSONField(read_only=True)
    output = serializers.JSONField(read_only=True)
    response = serializers.JSONField(read_only=True, help_text="what a respond step answered the caller")
    steps = StepRunSerializer(many=True, read_only=True)
    loops = serializers.SerializerMethodField()
    children = serializers.SerializerMethodField()

    class Meta(ExecutionSerializer.Meta):
        fields = [
            *ExecutionSerializer.Meta.fields,
            "attempts",
            "cancel_requested",
            "parent",
            "depth",
            "resume_at",
            "input",
            "output",
            "response",
            "loops",
            "children",
            "steps",
        ]
        read_only_fields = fields

    @extend_schema_field(LoopProgressSerializer(many=True))
    def get_loops(self, execution: Execution) -> list[dict]:
        return loop_progress.loops(execution, execution.steps.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_children(self, execution: Execution) -> list[int]:
        """The executions its call-flow steps started."""
        return list(execution.children.order_by("pk").values_list("pk", flat=True))


# At most this many executions in one request (seed 002's limit of events per request).
MAX_BATCH = 100


class BulkReplaySerializer(serializers.Serializer):
    flow = serializers.CharField(required=False, help_text="slug of the flow")
    environment = serializers.CharField(required=False)
    since = serializers.CharField(required=False, help_text="ISO 8601; created at or after")
    until = serializers.CharField(required=False, help_text="ISO 8601; created before")
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, max_length=MAX_BATCH, help_text="only these executions"
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_BATCH, default=MAX_BATCH)


class BulkReplayResultSerializer(serializers.Serializer):
    replayed = serializers.IntegerField()
    executions = ExecutionSerializer(many=True)
