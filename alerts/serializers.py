from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.checks import rule_problems
from alerts.models import AlertDelivery, AlertRule
from flows.models import Flow

NUMBER_FIELDS = ("failures", "window_minutes", "silence_minutes")


class AlertRuleSerializer(serializers.ModelSerializer):
    flow = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Flow.objects.none(),
        required=False,
        allow_null=True,
        help_text="the slug of the flow watched; null: every flow of the organization",
        error_messages={"does_not_exist": "This organization has no flow with the slug '{value}'."},
    )
    failures = serializers.IntegerField(required=False, allow_null=True, help_text="N, for failures_over")
    window_minutes = serializers.IntegerField(required=False, allow_null=True, help_text="W, for failures_over")
    silence_minutes = serializers.IntegerField(required=False, allow_null=True, help_text="T, for no_success")
    throttle_minutes = serializers.IntegerField(required=False, help_text="at most one alert per this many minutes")
    emails = serializers.ListField(child=serializers.CharField(max_length=254), required=False)
    webhook_url = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    webhook_secret = serializers.SerializerMethodField(
        help_text="the webhook's signing key: only in the answer that created it, never again"
    )

    class Meta:
        model = AlertRule
        fields = [
            "id",
            "name",
            "flow",
            "condition",
            "failures",
            "window_minutes",
            "silence_minutes",
            "emails",
            "webhook_url",
            "webhook_secret",
            "throttle_minutes",
            "enabled",
            "last_fired",
            "created",
            "updated",
        ]
        read_only_fields = ["last_fired", "created", "updated"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        # Another organization's flow is as unknown as one that does not exist.
        self.fields["flow"].queryset = Flow.objects.filter(organization=getattr(request, "organization", None))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_webhook_secret(self, rule: AlertRule) -> str | None:
        return getattr(rule, "issued_secret", None)

    def validate(self, attrs):
        values = {name: getattr(self.instance, name) for name in _checked()} if self.instance else {}
        values.update(attrs)
        values.setdefault("condition", AlertRule._meta.get_field("condition").default)
        problems = rule_problems(values)
        if problems:
            raise serializers.ValidationError(problems)
        return attrs

    def create(self, validated_data):
        rule = AlertRule(**validated_data)
        rule.issued_secret = rule.sync_secret()
        rule.save()
        return rule

    def update(self, rule, validated_data):
        for name, value in validated_data.items():
            setattr(rule, name, value)
        rule.issued_secret = rule.sync_secret()
        rule.save()
        return rule


def _checked() -> tuple[str, ...]:
    return ("condition", *NUMBER_FIELDS, "throttle_minutes", "emails", "webhook_url")


class AlertDeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertDelivery
        fields = ["id", "rule", "created", "channel", "recipient", "outcome", "error", "summary"]
        read_only_fields = fields
