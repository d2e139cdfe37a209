"""``POST /api/v1/instructions/check/`` and ``/format/``: an instruction's problems while the user types it,
and its canonical layout when asked."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.policy import Action
from connectors.models import Connector
from core.serializers import ErrorSerializer
from flows.api.errors import FlowsAPI, invalid, json_object, validated
from flows.instruction_checks import NotFormattable, check_instruction, format_instruction, instruction_languages
from flows.serializers import InstructionCheckSerializer, InstructionProblemsSerializer


def checked_dialect(organization, data: dict) -> str | None:
    """The SQL dialect a check applies: the given connector's type's (as saving applies it), else the given one."""
    if data.get("connector") is None:
        if data.get("dialect") is not None and data["language"] != "sql":
            raise invalid("dialect", f"A dialect applies to SQL instructions only, not to {data['language']}.")
        return data.get("dialect")
    connector = Connector.objects.filter(organization=organization, pk=data["connector"]).first()
    if connector is None:
        raise invalid("connector", f"Connector {data['connector']} does not exist in this organization.")
    try:
        connector_type = connector.connector_type
    except KeyError:
        raise invalid(
            "connector", f"Connector '{connector.name}' has type '{connector.type_key}', which this installation lacks."
        ) from None
    if connector_type.language != data["language"]:
        message = f"Connector '{connector.name}' takes {connector_type.language} instructions, not {data['language']}."
        raise invalid("connector", message)
    if data.get("dialect") not in (None, connector_type.sql_dialect):
        message = f"Connector '{connector.name}' reads SQL as {connector_type.sql_dialect}; leave the dialect out."
        raise invalid("dialect", message)
    return connector_type.sql_dialect


class InstructionCheckView(FlowsAPI, APIView):
    """``POST /api/v1/instructions/check/``: the server-side parsers' problems with an instruction, for the
    editor to mark at line and column as the user types. Nothing is stored, so viewers may ask too."""

    resource = "flows"
    policy_action = Action.READ

    @extend_schema(
        request=InstructionCheckSerializer, responses={200: InstructionProblemsSerializer, 400: ErrorSerializer}
    )
    def post(self, request):
        data = validated(
            InstructionCheckSerializer, json_object(request.data, "body", '{"language": "sql", "text": "..."}')
        )
        known = instruction_languages()
        if data["language"] not in known:
            raise invalid("language", f"Unknown language '{data['language']}'; use one of: {', '.join(known)}.")
        dialect = checked_dialect(request.organization, data)
        problems = check_instruction(data["language"], data["text"], dialect)
        return Response({"language": data["language"], "problems": problems})


class InstructionFormatSerializer(serializers.Serializer):
    language = serializers.CharField(max_length=40, help_text="bapi (the languages with a formatter)")
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, max_length=200_000)


class FormattedInstructionSerializer(serializers.Serializer):
    text = serializers.CharField()


class InstructionFormatView(FlowsAPI, APIView):
    """``POST /api/v1/instructions/format/``: the instruction in its language's canonical layout, for the
    step form's Format button. Nothing is stored, so viewers may ask too. What does not parse is a 400
    with its problems at line and column, as the check gives them."""

    resource = "flows"
    policy_action = Action.READ

    @extend_schema(
        request=InstructionFormatSerializer, responses={200: FormattedInstructionSerializer, 400: ErrorSerializer}
    )
    def post(self, request):
        data = validated(
            InstructionFormatSerializer, json_object(request.data, "body", '{"language": "bapi", "text": "..."}')
        )
        try:
            text = format_instruction(data["language"], data["text"])
        except NotFormattable as refused:
            body = {"detail": refused.message, "errors": {"text": [refused.message]}}
            if refused.problems:
                body["problems"] = refused.problems
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response({"text": text})
