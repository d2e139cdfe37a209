from __future__ import annotations

from rest_framework import serializers

from accounts import environments
from connectors.access import usable_by
from connectors.models import Connector
from expressions.mapping import mapping_syntax_error
from instructions import check
from managed.models import ManagedCall


class UsableConnectorField(serializers.PrimaryKeyRelatedField):
    """A connector id among those the requester may use; any other (another organization's, one outside
    the requester's scope, one that never existed) gets the same answer, so the answer tells nothing."""

    default_error_messages = {
        "does_not_exist": "No connector with id {pk_value}.",
        "incorrect_type": "Give the connector's id as a number.",
    }

    def get_queryset(self):
        request = self.context["request"]
        return usable_by(request.user, request.organization)


class ManagedCallSerializer(serializers.ModelSerializer):
    """A managed call; ``connector`` is an HTTP-language connector the requester may use, ``environment`` a slug."""

    connector = UsableConnectorField(queryset=Connector.objects.all())
    environment = serializers.CharField(help_text="slug of the environment the call runs in by default")
    url = serializers.SerializerMethodField()

    class Meta:
        model = ManagedCall
        fields = [
            "id",
            "url",
            "name",
            "slug",
            "description",
            "connector",
            "environment",
            "request",
            "request_mapping",
            "response_mapping",
            "timeout_ms",
            "enabled",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "url", "created", "updated"]

    def get_url(self, call) -> str:
        return f"/api/v1/managed-calls/{call.slug}/execute"

    def to_representation(self, call):
        data = super().to_representation(call)
        data["environment"] = call.environment.slug
        return data

    @property
    def organization(self):
        return self.context["request"].organization

    def validate_connector(self, connector):
        connector_type = connector.connector_type
        if connector_type.language != "http":
            raise serializers.ValidationError(
                f"Connector '{connector.name}' is a {connector_type.label} connector; a managed call needs an "
                "HTTP-based one."
            )
        return connector

    def validate_environment(self, value):
        environment = environments.find(self.organization, value, by_name_or_id=True)
        if environment is None:
            raise serializers.ValidationError(environments.unknown_message(self.organization, value))
        return environment

    def validate_slug(self, slug):
        taken = ManagedCall.objects.for_organization(self.organization).filter(slug=slug)
        if self.instance is not None:
            taken = taken.exclude(pk=self.instance.pk)
        if taken.exists():
            raise serializers.ValidationError(f"Another managed call already has the slug '{slug}'.")
        return slug

    def validate_request(self, text):
        problems = check("http", text)
        if problems:
            raise serializers.ValidationError([str(problem) for problem in problems])
        return text

    def validate_request_mapping(self, text):
        return _check_mapping(text)

    def validate_response_mapping(self, text):
        return _check_mapping(text)


def _check_mapping(text: str) -> str:
    if text.strip():
        problem = mapping_syntax_error(text)
        if problem:
            line, column, message = problem
            raise serializers.ValidationError(f"line {line}, column {column}: {message}")
    return text


class ExecuteSerializer(serializers.Serializer):
    payload = serializers.JSONField(required=False, allow_null=True, default=None)
    environment = serializers.CharField(required=False, help_text="slug; the call's own environment when left out")


class ExecuteResultSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    data = serializers.JSONField(required=False)
    stage = serializers.CharField(required=False)
    error = serializers.CharField(required=False)
