"""API representations of what starts executions: a trigger call, a test run, webhooks and schedules.

Payloads given here are stored and later run, so one the database cannot store is refused now
with a 400 rather than failing on saving.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.choices import Role
from accounts.models import Environment
from core import masking
from core.payloads import storage_problem
from flows import schedules, triggers, webhooks
from flows.models import Flow, Schedule, Webhook
from flows.serializers import organization_of


def _can_edit(serializer) -> bool:
    request = serializer.context.get("request")
    membership = getattr(request, "membership", None)
    return bool(membership and membership.at_least(Role.EDITOR))


def _storable_or_refused(value, name: str):
    """``value``, unless the database cannot store it (``core.payloads.storage_problem`` says why)."""
    problem = storage_problem(value, name)
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
        organization = organization_of(self.parent) if self.parent else None
        return self.queryset.model.objects.filter(organization=organization) if organization else self.queryset.none()


class TriggerSerializer(serializers.Serializer):
    """The body of ``POST /api/v1/flows/{slug}/executions`` (documentation; ``flows.payloads`` parses it)."""

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


class RunSerializer(serializers.Serializer):
    payload = serializers.JSONField(
        required=False, default=None, help_text="the test payload (trigger.payload); none: the draft's sample payload"
    )
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
        return _storable_or_refused(payload, "payload")


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
        return _storable_or_refused(payload, "payload")

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
