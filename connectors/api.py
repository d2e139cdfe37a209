"""The Connector Manager API: the type catalog, connectors, their tests, where they are used, their pools.

Every connector read goes through ``connectors.access.usable_by``: a connector outside the
requester's scope, like one of another organization, answers 404. Reads need ``connectors:read``;
changes and connection tests need ``connectors:write`` and the editor role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Environment
from connectors import catalog, pool_stats, runtime, schema, sync, sync_check, usage, values
from connectors.access import visible_connectors
from connectors.catalog.base import ConnectorError, Deadline
from connectors.filters import ConnectorFilter
from connectors.models import Connector
from connectors.sap import functions
from connectors.serializers import (
    ConnectorSerializer,
    ConnectorTypeSerializer,
    EnvironmentChoiceSerializer,
    InUseSerializer,
    TestResultSerializer,
    UnsavedTestSerializer,
    UsageSerializer,
    admin_only_changes,
)
from core.serializers import ErrorSerializer
from instructions.sync_spec import IDENTIFIER

ERRORS = {code: ErrorSerializer for code in (400, 403, 404)}
ENVIRONMENT = OpenApiParameter("environment", str, description="Environment slug; sandbox when not given")
SCHEMA = OpenApiParameter("schema", str, description="Schema; the connector's own when not given")
PREVIEW_MS = 3000
MAX_SAMPLE_ROWS = 100


@extend_schema_view(
    list=extend_schema(responses={200: ConnectorTypeSerializer(many=True)}),
    retrieve=extend_schema(responses={200: ConnectorTypeSerializer, 404: ErrorSerializer}),
)
class ConnectorTypeViewSet(viewsets.ViewSet):
    """The catalog of connector types with their settings fields, as declared by each type."""

    resource = "connectors"
    lookup_field = "key"
    lookup_value_regex = r"[-\w]+"

    def list(self, request):
        return Response([cls.describe() for cls in catalog.all_types()])

    def retrieve(self, request, key=None):
        type_cls = catalog.type_class(key)
        if type_cls is None:
            raise exceptions.NotFound()
        return Response(type_cls.describe())


@extend_schema_view(
    create=extend_schema(responses={201: ConnectorSerializer, **ERRORS}),
    update=extend_schema(responses={200: ConnectorSerializer, **ERRORS}),
    partial_update=extend_schema(responses={200: ConnectorSerializer, **ERRORS}),
)
class ConnectorViewSet(viewsets.ModelViewSet):
    """Connectors of the organization that the requester may see; secrets always answer as the mask."""

    queryset = Connector.objects.all()
    serializer_class = ConnectorSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ConnectorFilter
    resource = "connectors"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return visible_connectors(self.request)

    def filter_queryset(self, queryset):
        # The filters are the list's: a connector's own URL finds it whatever the query string says.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(responses={204: None, 404: ErrorSerializer, 409: InUseSerializer})
    def destroy(self, request, *args, **kwargs):
        connector = self.get_object()
        try:
            usage.delete(connector)
        except usage.ConnectorInUse as refused:
            return Response(
                {"detail": str(refused), **refused.uses},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=EnvironmentChoiceSerializer, responses={200: TestResultSerializer, **ERRORS})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """Test the saved settings of one environment, stage by stage; the result is kept as its last test."""
        connector = self.get_object()
        choice = EnvironmentChoiceSerializer(data=request.data, context={"request": request})
        choice.is_valid(raise_exception=True)
        environment = choice.validated_data["environment"]
        if not connector.settings.filter(environment=environment).exists():
            raise exceptions.ValidationError(
                {"environment": [f"'{connector.name}' has no settings for '{environment.slug}'; add them first."]}
            )
        return Response(runtime.test_connector(connector, environment).as_dict())

    @extend_schema(
        operation_id="connectors_test_unsaved",
        request=UnsavedTestSerializer,
        responses={200: TestResultSerializer, **ERRORS},
    )
    @action(detail=False, methods=["post"], url_path="test")
    def test_unsaved(self, request):
        """Test settings before saving them; with ``connector``, its saved secrets stand in for the mask."""
        payload = UnsavedTestSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        environment = data["environment"]
        previous = {}
        if data.get("connector") is not None:
            saved = self.get_queryset().filter(pk=data["connector"]).first()
            if saved is None:
                raise exceptions.NotFound()
            if saved.type_key != data["type"]:
                raise exceptions.ValidationError(
                    {"connector": [f"Connector '{saved.name}' is of type '{saved.type_key}', not '{data['type']}'."]}
                )
            row = saved.settings.filter(environment=environment).first()
            previous = row.values if row else {}
        try:
            stored = values.clean(
                catalog.type_class(data["type"]), data["settings"], previous, organization=environment.organization_id
            )
        except values.SettingsInvalid as problem:
            raise exceptions.ValidationError(
                {"settings": {name: [message] for name, message in problem.errors.items()}}
            ) from None
        refused = admin_only_changes(request.membership, catalog.type_class(data["type"]), previous or None, stored)
        if refused:
            raise exceptions.ValidationError({"settings": refused})
        return Response(runtime.test(data["type"], stored, environment).as_dict())

    @extend_schema(responses={200: UsageSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["get"])
    def usage(self, request, pk=None):
        """The flows whose draft or any version uses this connector."""
        flows = usage.uses(self.get_object()).get("flows", [])
        return Response({"count": len(flows), "flows": flows})

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: ErrorSerializer})
    @action(detail=True, methods=["get"], url_path="pool-stats")
    def pool_stats(self, request, pk=None):
        """Live pool figures per environment the connector is deployed to, summed over every process with its pool."""
        connector = self.get_object()
        return Response(
            {row.environment.slug: pool_stats.stats(connector, row.environment) for row in connector.settings.all()}
        )

    @extend_schema(
        operation_id="connectors_sap_functions_list",
        parameters=[OpenApiParameter("q", str, description="Part of a function module's name, such as BAPI_SALES")],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="sap-functions")
    def sap_functions(self, request, pk=None):
        """SAP function modules whose names contain ``q``, for completing ``CALL FUNCTION`` in the editor."""
        sap_connector(self.get_object())
        return Response({"results": functions.search(request.query_params.get("q", ""))})

    @extend_schema(
        operation_id="connectors_sap_function_retrieve",
        parameters=[OpenApiParameter("environment", str, description="Environment slug; sandbox when not given")],
        responses={200: OpenApiTypes.OBJECT, **ERRORS, 502: ErrorSerializer},
    )
    @action(detail=True, methods=["get"], url_path=r"sap-functions/(?P<key>[A-Za-z0-9_/]{1,61})")
    def sap_function(self, request, pk=None, key=None):
        """One function module's parameters (direction, ABAP type, length, optional), for completing a call's
        parameters: over RFC as the environment's system describes it, else from erpflow's list."""
        connector = sap_connector(self.get_object())
        environment = chosen_environment(request, request.query_params.get("environment"))
        try:
            return Response(functions.describe(connector, environment, key))
        except functions.UnknownFunction as unknown:
            return Response({"detail": str(unknown)}, status=status.HTTP_404_NOT_FOUND)
        except functions.NotConfigured as missing:
            raise exceptions.ValidationError({"environment": [str(missing)]}) from None
        except ConnectorError as failed:  # the system did not answer: a bad gateway, not a bad request
            return Response({"detail": str(failed)}, status=status.HTTP_502_BAD_GATEWAY)

    @extend_schema(
        operation_id="connectors_schema_tables_list",
        parameters=[ENVIRONMENT, SCHEMA],
        responses={200: OpenApiTypes.OBJECT, **ERRORS, 502: ErrorSerializer},
    )
    @action(detail=True, methods=["get"], url_path="schema/tables")
    def schema_tables(self, request, pk=None):
        """The tables and views of a database connector's schema, read live, for the sync step's table picker."""
        connector, environment = self._database(request, request.query_params.get("environment"))
        name = _schema_name(request.query_params.get("schema"))
        with _unreachable_is_502():
            return Response({"results": schema.tables(connector, environment, name)})

    @extend_schema(
        operation_id="connectors_schema_table_retrieve",
        parameters=[ENVIRONMENT, SCHEMA],
        responses={200: OpenApiTypes.OBJECT, **ERRORS, 502: ErrorSerializer},
    )
    @action(detail=True, methods=["get"], url_path=r"schema/tables/(?P<table>[A-Za-z_][A-Za-z0-9_$]{0,127})")
    def schema_table(self, request, pk=None, table=None):
        """One table's columns (type, nullable, default) and unique indexes, read live."""
        connector, environment = self._database(request, request.query_params.get("environment"))
        name = _schema_name(request.query_params.get("schema"))
        with _unreachable_is_502():
            try:
                return Response(schema.table(connector, environment, table, name))
            except schema.UnknownTable as missing:
                return Response({"detail": str(missing)}, status=status.HTTP_404_NOT_FOUND)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS, 502: ErrorSerializer})
    @action(detail=True, methods=["post"], url_path="sync-check")
    def sync_check(self, request, pk=None):
        """A sync step's settings checked against the live schema: ``{"problems", "warnings"}``."""
        connector = database_connector(self.get_object())  # another organization's is a 404, whatever the body
        body = _object(request.data)
        environment = self._environment(request, connector, body.get("environment"))
        with _unreachable_is_502():
            return Response(sync_check.check(connector, environment, body.get("sync")))

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, **ERRORS})
    @action(detail=True, methods=["post"], url_path="sync-preview")
    def sync_preview(self, request, pk=None):
        """The first 5 sample rows as a sync step would write them, with an error per field that fails."""
        connector = database_connector(self.get_object())
        body = _object(request.data)
        sample = body.get("rows")
        if not isinstance(sample, list) or not all(isinstance(row, dict) for row in sample):
            raise exceptions.ValidationError({"rows": ["Give the sample rows as a list of objects."]})
        if len(sample) > MAX_SAMPLE_ROWS:
            raise exceptions.ValidationError({"rows": [f"At most {MAX_SAMPLE_ROWS} sample rows; {len(sample)} given."]})
        if not isinstance(body.get("sync"), dict):
            raise exceptions.ValidationError({"sync": ["Give the sync step's settings as an object."]})
        try:
            return Response(sync.preview(connector.type_key, body["sync"], sample, Deadline(PREVIEW_MS)))
        except ConnectorError as failed:
            raise exceptions.ValidationError({"rows": [str(failed)]}) from None

    def _database(self, request, slug) -> tuple[Connector, Environment]:
        connector = database_connector(self.get_object())
        return connector, self._environment(request, connector, slug)

    def _environment(self, request, connector: Connector, slug) -> Environment:
        environment = chosen_environment(request, slug)
        if not connector.settings.filter(environment=environment).exists():
            raise exceptions.ValidationError(
                {"environment": [f"'{connector.name}' has no settings for '{environment.slug}'; add them first."]}
            )
        return environment


def chosen_environment(request, slug) -> Environment:
    """The organization's environment named by ``slug`` (sandbox when not given); a 400 naming it when none."""
    slug = slug if isinstance(slug, str) and slug else "sandbox"
    environment = Environment.objects.filter(organization=request.organization, slug=slug).first()
    if environment is None:
        raise exceptions.ValidationError({"environment": [f"There is no environment '{slug[:60]}'."]})
    return environment


def database_connector(connector: Connector) -> Connector:
    """``connector`` when it is a SQL database one: only those have tables (a 400 otherwise)."""
    type_cls = catalog.type_class(connector.type_key)
    if type_cls is None or type_cls.sql_dialect is None:
        message = (
            f"Connector '{connector.name}' is of type '{connector.type_key}'; only database connectors have tables."
        )
        raise exceptions.ValidationError({"connector": [message]})
    return connector


def _schema_name(raw) -> str | None:
    if raw in (None, ""):
        return None
    if not IDENTIFIER.match(raw):
        raise exceptions.ValidationError({"schema": ["A schema is a plain name: letters, digits, _ and $."]})
    return raw


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise exceptions.ValidationError({"detail": ["The body must be a JSON object."]})
    return data


@contextmanager
def _unreachable_is_502() -> Iterator[None]:
    """The database did not answer or refused the statement: a bad gateway, not a bad request."""
    try:
        yield
    except ConnectorError as failed:
        raise BadGateway(str(failed)) from None


class BadGateway(exceptions.APIException):
    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "bad_gateway"


def sap_connector(connector: Connector) -> Connector:
    """``connector`` when it is an SAP one: the function list means nothing to other types (a 400)."""
    if connector.type_key != "sap":
        message = f"Connector '{connector.name}' is of type '{connector.type_key}'; only SAP connectors have functions."
        raise exceptions.ValidationError({"connector": [message]})
    return connector
