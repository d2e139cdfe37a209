"""The flows API: flows and their life cycle, triggers, executions, webhooks, schedules, statistics.

Viewsets stay declarative and call the domain modules (``versions``, ``portable``, ``properties``,
``triggers``, ``webhooks``, ``schedules``, ``monitoring``, ``engine``). Reads of flows need
``flows:read``, changes ``flows:write`` and the editor role (admins for protected flows); running
anything needs ``executions:run`` and the editor role; reading executions needs ``monitoring:read``.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max, Prefetch, Q, prefetch_related_objects
from django.shortcuts import get_object_or_404
from django.utils.text import slugify
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

import instructions
from accounts import environments
from accounts.models import Environment
from accounts.permissions import requires
from accounts.policy import Action
from accounts.tenancy import OrganizationScopedMixin
from connectors import catalog
from connectors.models import Connector
from core.serializers import ErrorSerializer
from expressions.mapping import mapping_syntax_error
from flows import engine, monitoring, notify, portable, properties, schedules, triggers, versions, webhooks
from flows import graph as graphs
from flows.graph import InvalidGraph, Problem
from flows.models import Deployment, Execution, Flow, FlowVersion, Schedule, StepRun, Webhook
from flows.serializers import (
    RESERVED_SLUGS,
    BulkReplayResultSerializer,
    BulkReplaySerializer,
    DeploymentSerializer,
    DeploySerializer,
    DraftSerializer,
    ExecutionDetailSerializer,
    ExecutionResultSerializer,
    ExecutionSerializer,
    FlowSerializer,
    GraphSerializer,
    InstructionCheckSerializer,
    InstructionProblemsSerializer,
    PublishSerializer,
    RunSerializer,
    ScheduleSerializer,
    StatsSerializer,
    StepFiguresSerializer,
    TimelineSerializer,
    TriggerSerializer,
    ValidationResultSerializer,
    VersionDetailSerializer,
    VersionSerializer,
    WebhookSerializer,
    sent_graph,
)

ERRORS = {code: ErrorSerializer for code in (400, 403, 404, 409)}
OUTCOME_FIELDS = ["status", "output", "error", "started", "finished", "attempts", "cancel_requested"]
STEP_SUMMARY_FIELDS = ["execution_id", "position", "step_id", "name", "status", "duration_ms", "error"]
MAPPING_LANGUAGE = "jsonata"


@transaction.atomic
def delete_flow(flow: Flow) -> None:
    """Delete a flow with its executions, deployments, versions, webhooks and schedules.

    Executions and deployments protect the versions they point at, so Django's cascade alone
    refuses to delete a flow that has run; they go first, then the flow (and the beat tasks of its
    schedules, which the database does not link to it).
    """
    schedules.delete_for_flow(flow)
    Execution.objects.filter(flow=flow).delete()
    Deployment.objects.filter(flow=flow).delete()
    flow.delete()


def object_schema(description: str, parameters: dict[str, str]):
    """The schema of a GET action that answers a JSON object, or 400 naming the query parameter that is wrong."""
    return extend_schema(
        parameters=[OpenApiParameter(name, str, description=text) for name, text in parameters.items()],
        responses={200: OpenApiTypes.OBJECT, 400: ErrorSerializer},
        description=description,
    )


def diff_refs(numbers: list[int], from_ref: str | None, to_ref: str | None) -> tuple[str, str]:
    """What a diff compares when ``from`` or ``to`` is left out: ``to`` defaults to the latest version (the
    draft before any is published), ``from`` to the version before ``to``; ``numbers`` newest first.
    ``from`` is empty when nothing comes before ``to``."""
    to_ref = to_ref or (str(numbers[0]) if numbers else "draft")
    earlier = numbers if to_ref == "draft" else [n for n in numbers if to_ref.isdigit() and n < int(to_ref)]
    return from_ref or (str(earlier[0]) if earlier else ""), to_ref


def invalid(field: str, message: str) -> exceptions.ValidationError:
    """A 400 about one field, in the shape every API error has (``errors`` holds lists)."""
    return exceptions.ValidationError({field: [message]})


def validated(serializer_class, data) -> dict:
    """``data`` checked by ``serializer_class``; a 400 naming each bad field otherwise."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def json_object(data, field: str, example: str) -> dict:
    """``data`` when the body was a JSON object (or empty); anything else is a 400 showing the expected shape."""
    if not isinstance(data, dict):
        raise invalid(field, f"The body must be a JSON object such as {example}.")
    return data


def check_import(data) -> str:
    """The slug an import file takes (as ``flows.portable`` derives it), after refusing what portable would
    store as given: a reserved slug, which the import and new-flow URLs shadow, and values the database
    cannot store."""
    if not isinstance(data, dict):
        return ""
    triggers.refuse_unstorable(data, "file")
    slug = slugify(str(data.get("slug") or data.get("name") or ""))[:120]
    if slug in RESERVED_SLUGS:
        raise InvalidGraph(
            [Problem(None, "slug", f"'{slug}' is reserved; give the flow another slug in the file.")],
            "The file cannot be imported",
        )
    return slug


def problems_response(problems: list[Problem], detail: str) -> Response:
    """400 listing every problem, each naming its step (``errors`` keyed by step id, else by field)."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.step or problem.field, []).append(problem.message)
    return Response(
        {"detail": detail, "problems": [p.as_dict() for p in problems], "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


def execution_queryset():
    return Execution.objects.select_related("flow", "version", "environment", "started_by")


def execution_outcome(request, execution: Execution, *, wait: int, created: bool) -> tuple[dict, int, dict]:
    """What a trigger answers (body, status, headers): 202 while the execution is under way, else its
    outcome with step summaries.

    With ``wait`` the call blocks up to that many seconds for a final state. A deduplicated
    trigger (``created`` false) answers 200 with the first execution, whatever its state.
    """
    if wait and not execution.is_final:
        notify.wait_finished(execution.pk, wait)
    if wait or not created:
        # Only the outcome changed since the trigger loaded the execution with its flow and version.
        execution.refresh_from_db(fields=OUTCOME_FIELDS)
        prefetch_related_objects([execution], Prefetch("steps", queryset=StepRun.objects.only(*STEP_SUMMARY_FIELDS)))
    context = {"request": request}
    if execution.is_final:
        data = ExecutionResultSerializer(execution, context=context).data
    else:
        data = ExecutionSerializer(execution, context=context).data
    code = status.HTTP_200_OK if execution.is_final or not created else status.HTTP_202_ACCEPTED
    headers = {"Location": data["url"], "X-Correlation-ID": execution.correlation_id}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return data, code, headers


def execution_response(request, execution: Execution, *, wait: int, created: bool) -> Response:
    data, code, headers = execution_outcome(request, execution, wait=wait, created=created)
    return Response(data, status=code, headers=headers)


class FlowsAPI:
    """What every view of this API shares.

    What the domain modules raise is answered, so that actions need no try blocks: ``TriggerError``
    with its own status, ``InvalidGraph`` as a 400 with one problem per step and ``WebhookExists`` as
    a 409. What every API shares is elsewhere: a body over ``ERPFLOW_MAX_REQUEST_BYTES`` is a JSON 413
    (``core.errors``), a body nested too deeply or holding a number out of range a 400
    (``core.parsers``), a NUL in a query parameter a 400 (``core.middleware``).
    """

    def handle_exception(self, exc):
        if isinstance(exc, triggers.TriggerError):
            return Response(exc.as_dict(), status=exc.status)
        if isinstance(exc, InvalidGraph):
            return problems_response(exc.problems, str(exc))
        if isinstance(exc, webhooks.WebhookExists):
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return super().handle_exception(exc)


class RawBodyParser(BaseParser):
    """Hands the trigger its raw body (any media type), read up to ``ERPFLOW_MAX_PAYLOAD_BYTES`` (413 above).

    ``flows.triggers`` judges the content type and parses JSON or XML itself, with its own messages.
    """

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return triggers.read_limited(stream, triggers.content_length(parser_context["request"].META))


def merge_draft(current: dict, patch: dict) -> dict:
    """PATCH semantics of the draft: steps given with a known id are updated field by field, steps
    with a new id are added, any other top-level key (``edges``) replaces the stored one."""
    merged = dict(current)
    for key, value in patch.items():
        if key != "steps" or not isinstance(value, list):
            merged[key] = value
            continue
        steps = [dict(step) if isinstance(step, dict) else step for step in current.get("steps", [])]
        by_id = {step.get("id"): step for step in steps if isinstance(step, dict)}
        for change in value:
            if isinstance(change, dict) and change.get("id") in by_id:
                by_id[change["id"]].update(change)
            else:
                steps.append(change)
        merged["steps"] = steps
    return merged


def _environment(request, slug: str | None, field: str = "environment") -> Environment:
    try:
        return environments.get(request.organization, slug)
    except environments.UnknownEnvironment as exc:
        raise invalid(field, str(exc)) from None


class FlowViewSet(FlowsAPI, OrganizationScopedMixin, viewsets.ModelViewSet):
    """Flows by slug. Deleting a protected flow is refused (409); only admins may change a protected flow."""

    queryset = Flow.objects.annotate(
        latest_version_number=Max("versions__number", filter=Q(versions__snapshot=False))
    ).prefetch_related(
        Prefetch("deployments", queryset=Deployment.objects.select_related("environment", "version", "deployed_by"))
    )
    serializer_class = FlowSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[-\w]+"
    resource = "flows"

    def perform_update(self, serializer):
        versions.check_can_change(serializer.instance, self.request.user)
        serializer.save()

    @extend_schema(responses={204: None, 403: ErrorSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    def destroy(self, request, *args, **kwargs):
        flow = self.get_object()
        if flow.protected:
            return Response(
                {"detail": f"Flow '{flow.name}' is protected and cannot be deleted; an admin can lift that first."},
                status=status.HTTP_409_CONFLICT,
            )
        delete_flow(flow)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # -- the draft and its versions ---------------------------------------------------------------

    @extend_schema(
        methods=["GET"], responses={200: DraftSerializer}, description="The draft graph the editor works on."
    )
    @extend_schema(
        methods=["PUT", "PATCH"],
        request=GraphSerializer,
        responses={200: DraftSerializer, 400: ErrorSerializer, 403: ErrorSerializer},
        description=(
            "PUT replaces the draft; PATCH updates steps by id field by field, adds steps with new ids and "
            "replaces edges when given. The body is the graph, or the draft as GET answers it; any other key is "
            "a 400. The graph is validated first: with problems the answer is 400 with one problem per step and "
            "the saved draft is unchanged."
        ),
    )
    @action(detail=True, methods=["get", "put", "patch"])
    def draft(self, request, slug=None):
        flow = self.get_object()
        if request.method != "GET":
            data = sent_graph(request.data)
            triggers.refuse_unstorable(data, "graph")
            graph = merge_draft(flow.draft, data) if request.method == "PATCH" else data
            problems = versions.save_draft(flow, graph, request.user)
            if problems:
                count = len(problems)
                return problems_response(
                    problems, f"The draft has {count} problem{'s' if count != 1 else ''}; nothing was saved."
                )
            flow.refresh_from_db(fields=["draft", "updated"])
        return Response({"graph": flow.draft, "updated": flow.updated})

    @extend_schema(request=PublishSerializer, responses={201: VersionSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def publish(self, request, slug=None):
        flow = self.get_object()
        data = validated(PublishSerializer, request.data)
        version = versions.publish(flow, request.user, data["message"])
        return Response(VersionSerializer(version).data, status=status.HTTP_201_CREATED)

    def _versions(self, flow: Flow):
        return versions.history(flow).prefetch_related("deployments__environment")

    @extend_schema(responses={200: VersionSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def versions(self, request, slug=None):
        flow = self.get_object()
        page = self.paginate_queryset(self._versions(flow))
        return self.get_paginated_response(VersionSerializer(page, many=True).data)

    @extend_schema(responses={200: VersionDetailSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["get"], url_path=r"versions/(?P<number>\d+)")
    def version(self, request, slug=None, number=None):
        flow = self.get_object()
        version = get_object_or_404(self._versions(flow), number=int(number))
        return Response(VersionDetailSerializer(version).data)

    @object_schema(
        "Steps added, removed and changed field by field, and edges added and removed.",
        {
            "from": "version number, or 'draft' (default: the version before 'to')",
            "to": "version number, or 'draft' (default: the latest version)",
        },
    )
    @action(detail=True, methods=["get"])
    def diff(self, request, slug=None):
        flow = self.get_object()
        numbers = list(versions.history(flow).values_list("number", flat=True))
        from_ref, to_ref = diff_refs(numbers, request.query_params.get("from"), request.query_params.get("to"))
        if not from_ref:
            raise invalid("from", "There is no earlier version to compare with; give 'from'.")
        graph_a, label_a = self._graph_of(flow, from_ref, "from")
        graph_b, label_b = self._graph_of(flow, to_ref, "to")
        return Response(versions.diff_graphs(graph_a, graph_b) | {"from": label_a, "to": label_b})

    @staticmethod
    def _graph_of(flow: Flow, ref: str, field: str) -> tuple[dict, dict]:
        if ref == "draft":
            return flow.draft, {"draft": True}
        if not ref.isdigit():
            raise invalid(field, f"'{ref}' is neither a version number nor 'draft'.")
        version = FlowVersion.objects.filter(flow=flow, snapshot=False, number=int(ref)).first()
        if version is None:
            raise invalid(field, f"Flow '{flow.name}' has no version {ref}.")
        return version.graph, {"number": version.number, "author": getattr(version.author, "username", None)}

    @extend_schema(request=DeploySerializer, responses={200: DeploymentSerializer, **ERRORS})
    @requires(Action.DEPLOY)
    @action(detail=True, methods=["post"])
    def deploy(self, request, slug=None):
        flow = self.get_object()
        data = validated(DeploySerializer, request.data)
        environment = _environment(request, data["environment"])
        published = FlowVersion.objects.filter(flow=flow, snapshot=False)
        number = data.get("version")
        version = published.filter(number=number).first() if number else published.order_by("-number").first()
        if version is None:
            if number:
                raise invalid("version", f"Flow '{flow.name}' has no version {number}.")
            return Response(
                {"detail": f"Flow '{flow.name}' has no published version yet; publish the draft first."},
                status=status.HTTP_409_CONFLICT,
            )
        deployment = versions.deploy(flow, version, environment, request.user)
        return Response(DeploymentSerializer(deployment).data)

    # -- moving flows in and out -------------------------------------------------------------------

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description="The flow as JSON, connectors by name.")
    @action(detail=True, methods=["get"])
    def export(self, request, slug=None):
        flow = self.get_object()
        response = Response(portable.export_flow(flow))
        response["Content-Disposition"] = f'attachment; filename="{flow.slug}.erpflow.json"'
        return response

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={200: FlowSerializer, 201: FlowSerializer, **ERRORS},
        description="Import an exported flow: a new slug creates the flow, a known slug replaces its draft.",
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_flow(self, request):
        slug = check_import(request.data)
        existed = Flow.objects.filter(organization=request.organization, slug=slug).exists()
        flow = portable.import_flow(request.organization, request.data, request.user)
        flow = self.get_queryset().get(pk=flow.pk)
        return Response(
            FlowSerializer(flow, context=self.get_serializer_context()).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @object_schema(
        "What the step can use in {{ }}: env keys, trigger fields, upstream outputs, execution fields.",
        {"step": "id of the step in the draft", "environment": "environment slug (default sandbox)"},
    )
    @action(detail=True, methods=["get"])
    def properties(self, request, slug=None):
        flow = self.get_object()
        environment = _environment(request, request.query_params.get("environment") or "sandbox")
        step = request.query_params.get("step") or None
        known = {s.get("id") for s in flow.draft.get("steps", []) if isinstance(s, dict)}
        if step is not None and step not in known:
            raise invalid("step", f"The draft of '{flow.name}' has no step '{step}'.")
        return Response(properties.available(flow, step, environment))

    @extend_schema(
        request=GraphSerializer,
        responses={200: ValidationResultSerializer, 400: ErrorSerializer},
        description=(
            "Every problem of the graph in the body (the saved draft when the body is empty), each naming its "
            "step, without saving anything: the editor lists them and marks the steps."
        ),
    )
    @requires(Action.READ)
    @action(detail=True, methods=["post"])
    def validate(self, request, slug=None):
        flow = self.get_object()
        data = sent_graph(request.data)
        problems = graphs.validate(data or flow.draft, flow.organization, user=request.user)
        return Response({"valid": not problems, "problems": [p.as_dict() for p in problems]})

    # -- running the draft -------------------------------------------------------------------------

    @extend_schema(
        request=RunSerializer,
        responses={200: ExecutionResultSerializer, 202: ExecutionSerializer, **ERRORS},
        description="Run a snapshot of the draft in the sandbox with a test payload.",
    )
    @requires(Action.RUN)
    @action(detail=True, methods=["post"])
    def run(self, request, slug=None):
        flow = self.get_object()
        data = validated(RunSerializer, json_object(request.data, "body", '{"payload": {...}, "wait": 10}'))
        execution = triggers.run_draft(flow, request.user, data["payload"])
        return execution_response(request, execution, wait=data["wait"], created=True)


class FlowTriggerView(FlowsAPI, APIView):
    """``POST /api/v1/flows/{slug}/executions``: start the version deployed to an environment."""

    resource = "flows"
    policy_action = Action.RUN
    parser_classes = [RawBodyParser]

    @extend_schema(
        operation_id="v1_flows_executions_create",
        request={"application/json": TriggerSerializer, "application/xml": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("environment", str, description="instead of the body's field (XML bodies)"),
            OpenApiParameter("wait", int, description="instead of the body's field (XML bodies)"),
            OpenApiParameter("X-Correlation-ID", str, OpenApiParameter.HEADER),
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER),
        ],
        responses={
            200: OpenApiResponse(ExecutionResultSerializer, description="finished, or the first of a duplicate"),
            202: OpenApiResponse(ExecutionSerializer, description="queued or still running; poll its url"),
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: OpenApiResponse(ErrorSerializer, description="flow disabled, or nothing deployed there"),
            413: ErrorSerializer,
            415: ErrorSerializer,
        },
        description=(
            "A JSON body holds environment, payload, correlation_id, deduplication_id and wait; an XML body is "
            "the payload itself (parsed to an object) with the rest in the query string and headers."
        ),
    )
    def post(self, request, slug):
        flow = Flow.objects.filter(organization=request.organization, slug=slug).defer("draft", "description").first()
        if flow is None:
            return Response({"detail": f"No flow with slug '{slug}'."}, status=status.HTTP_404_NOT_FOUND)
        body = request.data if isinstance(request.data, bytes) else b""
        parsed = triggers.parse_request(body, request._request, envelope=True)
        execution, created = triggers.start(
            flow, parsed.environment, parsed, trigger=Execution.Trigger.API, user=request.user
        )
        return execution_response(request, execution, wait=parsed.wait, created=created)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("flow", str, description="flow slug"),
            OpenApiParameter("status", str, description="one status or several, comma-separated"),
            OpenApiParameter("environment", str, description="environment slug"),
            OpenApiParameter("trigger", str, description="api, webhook, schedule, manual or replay"),
            OpenApiParameter("correlation_id", str),
            OpenApiParameter("since", OpenApiTypes.DATETIME, description="created at or after"),
            OpenApiParameter("until", OpenApiTypes.DATETIME, description="created before"),
        ]
    )
)
class ExecutionViewSet(FlowsAPI, OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Executions, newest first, filtered by flow, status, environment, trigger, correlation id and time."""

    queryset = execution_queryset()
    serializer_class = ExecutionSerializer
    resource = "executions"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "retrieve":
            return queryset.prefetch_related("steps")
        if self.action == "list":
            return monitoring.filter_executions(queryset, self.request.query_params)
        return queryset

    def get_serializer_class(self):
        return ExecutionDetailSerializer if self.action == "retrieve" else ExecutionSerializer

    @extend_schema(request=None, responses={201: ExecutionSerializer, **ERRORS})
    @requires(Action.REPLAY)
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        replayed = triggers.replay(self.get_object(), request.user)
        return Response(
            ExecutionSerializer(replayed, context=self.get_serializer_context()).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=None, responses={200: ExecutionSerializer, **ERRORS})
    @requires(Action.CANCEL)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        execution = self.get_object()
        if not engine.request_cancel(execution):
            return Response(
                {"detail": f"Execution #{execution.pk} already ended ({execution.status}); nothing to cancel."},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(ExecutionSerializer(execution, context=self.get_serializer_context()).data)

    @extend_schema(
        operation_id="v1_executions_replay_failed",
        request=BulkReplaySerializer,
        responses={200: BulkReplayResultSerializer, 400: ErrorSerializer},
        description="Replay failed executions matching the filters that were not replayed before, oldest first.",
    )
    @requires(Action.REPLAY)
    @action(detail=False, methods=["post"], url_path="replay")
    def replay_failed(self, request):
        filters = validated(BulkReplaySerializer, request.data)
        queryset = monitoring.filter_executions(super().get_queryset(), filters)
        if "ids" in filters:
            queryset = queryset.filter(pk__in=filters["ids"])
        replays = triggers.replay_failed(queryset, request.user, filters["limit"])
        data = ExecutionSerializer(replays, many=True, context=self.get_serializer_context()).data
        return Response({"replayed": len(replays), "executions": data})


MONITORING_RANGE = [
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="default: 24 hours before until"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="default: now"),
    OpenApiParameter("flow", str, description="flow slug"),
    OpenApiParameter("environment", str, description="environment slug"),
]


class MonitoringStatsView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/stats``: per flow, counts by status and p50/p95 durations over a time range."""

    resource = "monitoring"

    @extend_schema(
        parameters=MONITORING_RANGE,
        responses={200: StatsSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        params = request.query_params
        since, until = monitoring.time_range(params)
        executions = Execution.objects.for_organization(request.organization)
        executions = monitoring.filter_executions(
            executions, {"flow": params.get("flow"), "environment": params.get("environment")}
        )
        return Response({"since": since, "until": until, "flows": monitoring.stats(executions, since, until)})


class MonitoringTimelineView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/timeline``: executions over time by status, in equal slices of the range."""

    resource = "monitoring"

    @extend_schema(
        parameters=MONITORING_RANGE,
        responses={200: TimelineSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        since, until, executions = _monitored(request)
        return Response({"since": since, "until": until, **monitoring.timeline(executions, since, until)})


class MonitoringStepsView(FlowsAPI, APIView):
    """``GET /api/v1/monitoring/steps``: the slowest steps (p95) and the steps that fail most often."""

    resource = "monitoring"

    @extend_schema(
        parameters=MONITORING_RANGE,
        responses={200: StepFiguresSerializer, 400: ErrorSerializer},
    )
    def get(self, request):
        since, until, executions = _monitored(request)
        return Response({"since": since, "until": until, **monitoring.step_figures(executions, since, until)})


def _monitored(request):
    """The time range and the organization's executions narrowed by ``flow`` and ``environment``."""
    params = request.query_params
    since, until = monitoring.time_range(params)
    executions = Execution.objects.for_organization(request.organization)
    executions = monitoring.filter_executions(
        executions, {"flow": params.get("flow"), "environment": params.get("environment")}
    )
    return since, until, executions


def instruction_languages() -> list[str]:
    """What the check endpoint accepts: every language a checker is registered for or a connector type
    declares (those without a checker still get their ``{{ }}`` checked), and ``jsonata`` for mapping steps."""

    declared = {kind.language for kind in catalog.all_types()}
    return sorted({*instructions.languages(), *declared, MAPPING_LANGUAGE})


def check_instruction(language: str, text: str, dialect: str | None = None) -> list[dict]:
    """Problems of ``text`` in ``language`` (SQL read as ``dialect``'s database reads it) at line and
    column, as the graph validation finds them."""

    if language == MAPPING_LANGUAGE:
        error = mapping_syntax_error(text)
        return [] if error is None else [{"line": error[0], "column": error[1], "message": error[2]}]
    return [problem.as_dict() for problem in instructions.check(language, text, dialect)]


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
        kind = connector.type
    except KeyError:
        raise invalid(
            "connector", f"Connector '{connector.name}' has type '{connector.type_key}', which this installation lacks."
        ) from None
    if kind.language != data["language"]:
        message = f"Connector '{connector.name}' takes {kind.language} instructions, not {data['language']}."
        raise invalid("connector", message)
    if data.get("dialect") not in (None, kind.sql_dialect):
        message = f"Connector '{connector.name}' reads SQL as {kind.sql_dialect}; leave the dialect out."
        raise invalid("dialect", message)
    return kind.sql_dialect


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


class FlowPartMixin:
    """Rows that belong to a flow (webhooks, schedules): scoped through the flow's organization;
    changing them is changing the flow, so a protected flow needs an admin."""

    resource = "flows"

    def get_queryset(self):
        queryset = super().get_queryset().filter(flow__organization=self.request.organization)
        flow = self.request.query_params.get("flow")
        return queryset.filter(flow__slug=flow) if flow and self.action == "list" else queryset

    def check_flow(self, flow: Flow) -> None:
        versions.check_can_change(flow, self.request.user)


class WebhookViewSet(
    FlowsAPI,
    FlowPartMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """One secret URL per flow and environment; ``rotate`` replaces it. Only editors see the URL."""

    queryset = Webhook.objects.select_related("flow", "environment").order_by("flow__name", "environment_id")
    serializer_class = WebhookSerializer

    @extend_schema(responses={201: WebhookSerializer, **ERRORS})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flow, environment = serializer.validated_data["flow"], serializer.validated_data["environment"]
        self.check_flow(flow)
        webhook, _ = webhooks.create(flow, environment)
        return Response(self.get_serializer(webhook).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: WebhookSerializer, **ERRORS})
    @requires(Action.ROTATE_WEBHOOK_SECRETS)
    @action(detail=True, methods=["post"])
    def rotate(self, request, pk=None):
        webhook = self.get_object()
        self.check_flow(webhook.flow)
        webhooks.rotate(webhook)
        return Response(self.get_serializer(webhook).data)

    def perform_destroy(self, instance):
        self.check_flow(instance.flow)
        instance.delete()


class ScheduleViewSet(FlowsAPI, FlowPartMixin, viewsets.ModelViewSet):
    """Cron schedules per flow and environment, each backed by a django-celery-beat PeriodicTask."""

    queryset = Schedule.objects.select_related("flow", "environment", "periodic_task__crontab").order_by(
        "flow__name", "pk"
    )
    serializer_class = ScheduleSerializer

    def perform_create(self, serializer):
        self.check_flow(serializer.validated_data["flow"])
        serializer.save()

    def perform_update(self, serializer):
        self.check_flow(serializer.instance.flow)
        serializer.save()

    def perform_destroy(self, instance):
        self.check_flow(instance.flow)
        schedules.delete(instance)
