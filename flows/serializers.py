"""API representations of a flow and what belongs to it: its draft graph, versions and deployments.

The checks a draft gets while it is edited (an instruction, the whole graph) answer in terms of
the same graph, so their representations live here too. Executions, triggers and monitoring have
modules of their own (``flows.execution_serializers``, ``flows.trigger_serializers``,
``flows.monitoring_serializers``).
"""

from __future__ import annotations

import re
from contextlib import contextmanager

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.text import slugify
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied

from accounts.choices import Role
from core.serializers import ProblemSerializer
from expressions.mapping import mapping_syntax_error
from flows import samples
from flows.models import EVENT_TYPES, USE_CASE_SLUG, Deployment, Flow, FlowVersion
from instructions.sql import DIALECTS as SQL_DIALECTS

RESERVED_SLUGS = {"import", "new"}


def organization_of(serializer):
    """The requester's organization: a serializer sees only rows of it."""
    request = serializer.context.get("request")
    return getattr(request, "organization", None)


class DeploymentSerializer(serializers.ModelSerializer):
    environment = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    version = serializers.IntegerField(source="version.number", read_only=True)
    deployed_by = serializers.CharField(source="deployed_by.username", read_only=True, default=None)

    class Meta:
        model = Deployment
        fields = ["environment", "version", "deployed_by", "deployed"]


class FlowSerializer(serializers.ModelSerializer):
    """Slugs are unique per organization and default to the name; only admins may set ``protected``.

    A flow exposed as a use case (``use_case_enabled``) takes events under ``use_case_slug``, which
    defaults to the flow's slug and is unique per organization too.
    """

    slug = serializers.SlugField(max_length=120, required=False)
    use_case_slug = serializers.CharField(max_length=255, required=False, allow_blank=True)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), allow_empty=False, required=False
    )
    ordered_by = serializers.CharField(max_length=500, required=False, allow_blank=True)
    on_failure = serializers.PrimaryKeyRelatedField(
        queryset=Flow.objects.none(), required=False, allow_null=True, help_text="the id of the on-failure handler flow"
    )
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
            "run_in_web",
            "protected",
            "use_case_slug",
            "use_case_enabled",
            "event_types",
            "ordered_by",
            "on_failure",
            "latest_version",
            "deployments",
            "created",
            "updated",
        ]
        read_only_fields = ["created", "updated"]
        # Slug uniqueness is checked in validate() with a message naming the slug (and again on save).
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Another organization's flow is as unknown as a flow that does not exist.
        self.fields["on_failure"].queryset = Flow.objects.filter(organization=organization_of(self))

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_latest_version(self, flow: Flow) -> int | None:
        """From the list's annotation when there is one, else one query."""
        if hasattr(flow, "latest_version_number"):
            return flow.latest_version_number
        return flow.versions.filter(snapshot=False).aggregate(n=Max("number"))["n"]

    def validate(self, attrs):
        organization = organization_of(self)
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
        self._validate_use_case(attrs, organization, instance)
        protected_before = instance.protected if instance else False
        if attrs.get("protected", protected_before) != protected_before:
            request = self.context["request"]
            if not request.membership.at_least(Role.ADMIN):
                raise PermissionDenied("Only admins may protect a flow or lift its protection.")
        return attrs

    def validate_use_case_slug(self, value: str) -> str:
        if value and not re.match(USE_CASE_SLUG, value):
            raise serializers.ValidationError(
                f"'{value}' is not a use case slug: use lowercase letters, digits, '-' and '_', starting with a "
                "letter or digit."
            )
        return value

    def validate_event_types(self, value: list[str]) -> list[str]:
        return [kind for kind in EVENT_TYPES if kind in value]

    def validate_ordered_by(self, value: str) -> str:
        problem = mapping_syntax_error(value) if value.strip() else None
        if problem:
            line, column, message = problem
            raise serializers.ValidationError(f"The ordering key, line {line} column {column}: {message}.")
        return value.strip()

    def validate_on_failure(self, value: Flow | None) -> Flow | None:
        if value is not None and self.instance is not None and value.pk == self.instance.pk:
            raise serializers.ValidationError("A flow cannot be its own on-failure handler; choose another flow.")
        return value

    def _validate_use_case(self, attrs: dict, organization, instance: Flow | None) -> None:
        use_case = attrs.get("use_case_slug", instance.use_case_slug if instance else "")
        enabled = attrs.get("use_case_enabled", instance.use_case_enabled if instance else False)
        if enabled and not use_case:
            use_case = attrs["slug"].lower()
            if not re.match(USE_CASE_SLUG, use_case):
                raise serializers.ValidationError(
                    {"use_case_slug": f"The flow's slug '{use_case}' cannot name a use case; give a use_case_slug."}
                )
            attrs["use_case_slug"] = use_case
        if not use_case:
            return
        clash = Flow.objects.filter(organization=organization, use_case_slug=use_case)
        if instance is not None:
            clash = clash.exclude(pk=instance.pk)
        other = clash.only("name").first()
        if other is not None:
            raise serializers.ValidationError(
                {"use_case_slug": f"Flow '{other.name}' already takes events as use case '{use_case}'; choose another."}
            )

    def create(self, validated_data):
        with _unique_on_save():
            return super().create(validated_data)

    def update(self, instance, validated_data):
        with _unique_on_save():
            return super().update(instance, validated_data)


CONSTRAINT_FIELDS = {"unique_flow_slug": "slug", "unique_use_case_slug": "use_case_slug"}


@contextmanager
def _unique_on_save():
    """A slug taken between ``validate`` and the INSERT (a concurrent request) is a 400 naming it, not a 500."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        field = next((name for constraint, name in CONSTRAINT_FIELDS.items() if constraint in str(exc)), None)
        if field is None:
            raise
        raise serializers.ValidationError(
            {field: [f"This {field} was just taken by another flow; choose another."]}
        ) from None


class GraphSerializer(serializers.Serializer):
    """The canvas graph (see ARCHITECTURE.md); validated by ``flows.graph``, not here."""

    steps = serializers.ListField(child=serializers.DictField(), required=False)
    edges = serializers.ListField(child=serializers.DictField(), required=False)
    sample = serializers.DictField(
        required=False, help_text="the sample trigger payload a test run uses when given none (flows.samples)"
    )


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
    unfit = samples.problems(graph)
    if unfit:
        raise serializers.ValidationError({where: [message] for where, message in unfit.items()})
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
