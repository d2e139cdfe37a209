"""API representations of flows, versions, deployments, executions, webhooks and schedules."""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError
from django.db.models import Max
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.reverse import reverse

from accounts.choices import Role
from accounts.models import Environment
from core import masking
from core.serializers import ProblemSerializer
from flows import schedules, triggers, webhooks
from flows.models import Deployment, Execution, Flow, FlowVersion, Schedule, StepRun, Webhook
from instructions.sql import DIALECTS as SQL_DIALECTS

RESERVED_SLUGS = {"import", "new"}


def _organization(serializer):
    request = serializer.context.get("request")
    return getattr(request, "organization", None)


def _can_edit(serializer) -> bool:
    request = serializer.context.get("request")
    membership = getattr(request, "membership", None)
    return bool(membership and membership.at_least(Role.EDITOR))


def storable(value, name: str):
    """``value``, unless the database cannot store it (``flows.triggers.storage_problem`` says why)."""
    problem = triggers.storage_problem(value, name)
    if problem:
        raise serializers.ValidationError(problem)
    return value


class ScopedSlugField(serializers.SlugRelatedField):
    """A slug of a row of the requester's organization; others do not exist, as far as the API tells."""

    default_error_messages = {
        "does_not_exist": "Nothing with slug '{value}' exists in this organization.",
        "invalid": "Give the slug as text.",
        "null_characters": "A slug cannot contain a NUL character.",
    }

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        return super().to_internal_value(data)

    def get_queryset(self):
        organization = _organization(self.parent) if self.parent else None
        return self.queryset.model.objects.filter(organization=organization) if organization else self.queryset.none()


class DeploymentSerializer(serializers.ModelSerializer):
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    deployed_by = serializers.CharField(source="deployed_by.username", read_only=True, default=None)

    class Meta:
        model = Deployment
        fields = ["environment", "version", "deployed_by", "deployed"]


class FlowSerializer(serializers.ModelSerializer):
    """Slugs are unique per organization and default to the name; only admins may set ``protected``."""

    slug = serializers.SlugField(max_length=120, required=False)
    deployments = DeploymentSerializer(many=True, read_only=True)
    latest_version = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "enabled",
            "protected",
            "latest_version",
            "deployments",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]
        validators = []  # slug uniqueness is checked in validate() with a message naming the slug

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_latest_version(self, flow: Flow) -> int | None:
        """From the list's annotation when there is one, else one query."""
        if hasattr(flow, "latest_version_number"):
            return flow.latest_version_number
        return flow.versions.filter(snapshot=False).aggregate(n=Max("number"))["n"]

    def validate(self, attrs):
        organization = _organization(self)
        instance: Flow | None = self.instance
        name = attrs.get("name", instance.name if instance else "")
        slug = attrs.get("slug") or (instance.slug if instance else slugify(name)[:120])
        if not slug:
            raise serializers.ValidationError({"slug": "Give the flow a slug of letters, digits or hyphens."})
        if slug in RESERVED_SLUGS:
            raise serializers.ValidationError({"slug": f"'{slug}' is reserved; choose another slug."})
        clash = Flow.objects.filter(organization=organization, slug=slug)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"slug": f"A flow with slug '{slug}' already exists; choose another."})
        attrs["slug"] = slug
        protected_before = instance.protected if instance else False
        if attrs.get("protected", protected_before) != protected_before:
            request = self.context["request"]
            if not request.membership.at_least(Role.ADMIN):
                raise PermissionDenied("Only admins may protect a flow or lift its protection.")
        return attrs


class GraphSerializer(serializers.Serializer):
    """The canvas graph (see ARCHITECTURE.md); validated by ``flows.graph``, not here."""

    steps = serializers.ListField(child=serializers.DictField(), required=False)
    edges = serializers.ListField(child=serializers.DictField(), required=False)


GRAPH_KEYS = tuple(GraphSerializer().fields)
DRAFT_ENVELOPE = ("graph", "updated")
SHAPES = f"a graph (keys {', '.join(GRAPH_KEYS)}) or the draft as GET answers it (keys {', '.join(DRAFT_ENVELOPE)})"


def sent_graph(data) -> dict:
    """The graph a draft body sends: the graph itself, or the draft as GET answers it (``{"graph": {...},
    "updated": ...}``, ``updated`` ignored). A key the graph does not have is refused, naming it, rather
    than saving a graph without what the sender meant."""
    if not isinstance(data, dict):
        raise serializers.ValidationError({"graph": [f"The body must be a JSON object: {SHAPES}."]})
    graph = data
    if "graph" in data:
        _refuse_unknown(data, DRAFT_ENVELOPE)
        graph = data["graph"]
        if not isinstance(graph, dict):
            raise serializers.ValidationError({"graph": [f"graph must be a JSON object: {SHAPES}."]})
    _refuse_unknown(graph, GRAPH_KEYS)
    return graph


def _refuse_unknown(data: dict, known: tuple[str, ...]) -> None:
    unknown = [key for key in data if key not in known]
    if unknown:
        raise serializers.ValidationError({key: [f"Unknown key '{key}': the body is {SHAPES}."] for key in unknown})


class DraftSerializer(serializers.Serializer):
    graph = GraphSerializer()
    updated = serializers.DateTimeField()


class PublishSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DeploySerializer(serializers.Serializer):
    environment = serializers.SlugField(help_text="slug of the environment, e.g. production")
    version = serializers.IntegerField(
        required=False, min_value=1, help_text="version number; the latest published version when omitted"
    )


class RunSerializer(serializers.Serializer):
    payload = serializers.JSONField(required=False, default=dict, help_text="the test payload (trigger.payload)")
    wait = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=triggers.MAX_WAIT_SECONDS,
        default=0,
        help_text="seconds to wait for the result (0..60)",
        error_messages=dict.fromkeys(
            ("invalid", "min_value", "max_value"),
            f"wait must be a whole number of seconds from 0 to {triggers.MAX_WAIT_SECONDS}.",
        ),
    )

    def validate_payload(self, payload):
        return storable(payload, "payload")


class VersionSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True, default=None)
    deployed_to = serializers.SerializerMethodField()

    class Meta:
        model = FlowVersion
        fields = ["number", "message", "author", "created", "deployed_to"]

    def get_deployed_to(self, version: FlowVersion) -> list[str]:
        return sorted(d.environment.slug for d in version.deployments.all())


class VersionDetailSerializer(VersionSerializer):
    graph = serializers.JSONField(read_only=True)

    class Meta(VersionSerializer.Meta):
        fields = [*VersionSerializer.Meta.fields, "graph"]


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
            "attempt",
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
        fields = ["position", "step_id", "name", "status", "duration_ms", "error"]


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


class ExecutionDetailSerializer(ExecutionSerializer):
    input = serializers.JSONField(read_only=True)
    output = serializers.JSONField(read_only=True)
    steps = StepRunSerializer(many=True, read_only=True)

    class Meta(ExecutionSerializer.Meta):
        fields = [*ExecutionSerializer.Meta.fields, "attempts", "cancel_requested", "input", "output", "steps"]
        read_only_fields = fields


class TriggerSerializer(serializers.Serializer):
    """The body of ``POST /api/v1/flows/{slug}/executions`` (documentation; ``flows.triggers`` parses it)."""

    environment = serializers.SlugField(help_text="environment to run in, e.g. sandbox")
    payload = serializers.JSONField(required=False, help_text="the flow's input, read by steps as trigger.payload")
    correlation_id = serializers.CharField(required=False, max_length=200, help_text="or the X-Correlation-ID header")
    deduplication_id = serializers.CharField(
        required=False,
        max_length=200,
        help_text="or the Idempotency-Key header: the same id within 24 hours returns the first execution",
    )
    wait = serializers.IntegerField(
        required=False, min_value=0, max_value=60, default=0, help_text="seconds to wait for the result (0..60)"
    )


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


class WebhookSerializer(serializers.ModelSerializer):
    """The URL carries the credential: shown to editors and above only."""

    flow = ScopedSlugField(slug_field="slug", queryset=Flow.objects.all())
    environment = ScopedSlugField(slug_field="slug", queryset=Environment.objects.all())
    url = serializers.SerializerMethodField()

    class Meta:
        model = Webhook
        fields = ["id", "flow", "environment", "url", "created", "rotated"]
        read_only_fields = ["created", "rotated"]
        validators = []

    def get_url(self, webhook: Webhook) -> str:
        if not _can_edit(self):
            return masking.MASK
        return self.context["request"].build_absolute_uri(webhooks.path_of(webhook))


class ScheduleSerializer(serializers.ModelSerializer):
    flow = ScopedSlugField(slug_field="slug", queryset=Flow.objects.all())
    environment = ScopedSlugField(slug_field="slug", queryset=Environment.objects.all())
    cron = serializers.CharField(
        max_length=120,
        help_text="minute hour day-of-month month day-of-week, e.g. '*/15 6-18 * * mon-fri'",
        error_messages={"blank": "Give a cron expression: minute hour day-of-month month day-of-week."},
    )
    payload = serializers.JSONField(required=False, default=dict)
    description = serializers.SerializerMethodField()
    next_run = serializers.SerializerMethodField()

    class Meta:
        model = Schedule
        fields = ["id", "flow", "environment", "cron", "payload", "enabled", "description", "next_run", "created"]
        read_only_fields = ["created"]
        validators = []

    def get_description(self, schedule: Schedule) -> str:
        task = schedule.periodic_task
        return task.crontab.human_readable if task is not None and task.crontab is not None else schedule.cron

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_next_run(self, schedule: Schedule):
        moment = schedules.next_run(schedule)
        return moment.isoformat() if moment else None

    def validate_payload(self, payload):
        return storable(payload, "payload")

    def validate_cron(self, cron: str) -> str:
        try:
            schedules.parse_cron(cron)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["cron"]) from None
        return cron

    def update(self, instance, validated_data):
        for fixed in ("flow", "environment"):
            value = validated_data.pop(fixed, None)
            if value is not None and value != getattr(instance, fixed):
                raise serializers.ValidationError(
                    {fixed: f"A schedule's {fixed} cannot change; delete it and create another."}
                )
        return schedules.update(
            instance,
            cron=validated_data.get("cron"),
            payload=validated_data.get("payload"),
            enabled=validated_data.get("enabled"),
        )

    def create(self, validated_data):
        return schedules.create(
            validated_data["flow"],
            validated_data["environment"],
            validated_data["cron"],
            payload=validated_data.get("payload"),
            enabled=validated_data.get("enabled", True),
        )


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


class InstructionCheckSerializer(serializers.Serializer):
    language = serializers.CharField(max_length=40, help_text="sql, bapi, http, ... or jsonata for a mapping step")
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=200_000)
    connector = serializers.IntegerField(
        required=False, help_text="The step's connector: SQL is read as its database reads it, as when saving."
    )
    dialect = serializers.ChoiceField(
        choices=SQL_DIALECTS,
        required=False,
        help_text="The database whose reading of SQL quotes and comments applies when no connector is given; "
        "without either, every database's reading applies.",
    )


class InstructionProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField(help_text="1-based")
    column = serializers.IntegerField(help_text="1-based")
    message = serializers.CharField()


class InstructionProblemsSerializer(serializers.Serializer):
    language = serializers.CharField()
    problems = InstructionProblemSerializer(many=True)


class ValidationResultSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = ProblemSerializer(many=True)


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
