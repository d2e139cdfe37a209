"""Flows by slug: the draft and its versions, deploying, export and import, what a step can use,
validating and test runs."""

from __future__ import annotations

from django.db.models import Max, Prefetch, Q
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import environments
from accounts.models import Environment
from accounts.permissions import requires
from accounts.policy import Action
from accounts.tenancy import OrganizationScopedMixin
from core.serializers import ErrorSerializer
from flows import graph as graphs
from flows import payloads, portable, properties, triggers, versions
from flows.api.errors import ERRORS, FlowsAPI, invalid, json_object, problems_response, validated
from flows.api.triggers import execution_response
from flows.deletion import delete_flow
from flows.diffs import diff_refs
from flows.drafts import merge_draft
from flows.execution_serializers import ExecutionResultSerializer, ExecutionSerializer
from flows.importing import check_import
from flows.models import Deployment, Flow, FlowVersion
from flows.serializers import (
    DeploymentSerializer,
    DeploySerializer,
    DraftSerializer,
    FlowSerializer,
    GraphSerializer,
    PublishSerializer,
    ValidationResultSerializer,
    VersionDetailSerializer,
    VersionSerializer,
    sent_graph,
)
from flows.trigger_serializers import RunSerializer


def object_schema(description: str, parameters: dict[str, str]):
    """The schema of a GET action that answers a JSON object, or 400 naming the query parameter that is wrong."""
    return extend_schema(
        parameters=[OpenApiParameter(name, str, description=text) for name, text in parameters.items()],
        responses={200: OpenApiTypes.OBJECT, 400: ErrorSerializer},
        description=description,
    )


def _environment(request, slug: str | None) -> Environment:
    """The organization's environment ``slug``; unknown, a 400 on ``environment`` listing those that exist."""
    try:
        return environments.get(request.organization, slug)
    except environments.UnknownEnvironment as exc:
        raise invalid("environment", str(exc)) from None


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
            payloads.refuse_unstorable(data, "graph")
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
