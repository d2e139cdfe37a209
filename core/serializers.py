"""The shape of every API error, for the OpenAPI schema (``core.errors`` builds the answers)."""

from __future__ import annotations

from rest_framework import serializers


class ProblemSerializer(serializers.Serializer):
    step = serializers.CharField(allow_null=True, help_text="id of the step, or null for the whole graph")
    field = serializers.CharField()
    message = serializers.CharField()
    line = serializers.IntegerField(required=False)
    column = serializers.IntegerField(required=False)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    # Messages per field; nested for nested input (``{"tags": {"2": ["..."]}}``), hence any JSON.
    errors = serializers.DictField(child=serializers.JSONField(), required=False)
    problems = ProblemSerializer(many=True, required=False)
