"""The managed calls API: CRUD like flows (``flows`` read and write), and ``execute``, which runs one
synchronously like running a flow (``flows`` run: the editor role and the ``executions:run`` scope).

``execute`` answers 200 ``{success: true, data}``, or ``{success: false, stage, error}`` with 422 when
a mapping or the request cannot be built from the payload, 502 when the call failed, 504 when it
ran out of time, 409 when the call is disabled.
"""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import environments
from accounts.permissions import requires
from accounts.policy import Action
from accounts.tenancy import OrganizationScopedMixin
from managed import runner
from managed.filters import ManagedCallFilter
from managed.models import ManagedCall
from managed.serializers import ExecuteResultSerializer, ExecuteSerializer, ManagedCallSerializer

FAILURE_STATUS = {"request_mapping": 422, "request": 422, "response_mapping": 422, "call": 502}


class ManagedCallViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    queryset = ManagedCall.objects.select_related("connector", "environment")
    serializer_class = ManagedCallSerializer
    resource = "flows"
    lookup_field = "slug"
    lookup_value_regex = r"[a-z0-9][a-z0-9_-]*"
    filter_backends = [DjangoFilterBackend]
    filterset_class = ManagedCallFilter

    def filter_queryset(self, queryset):
        """The filters narrow the list; a call is found by its slug alone, so a query string on ``execute``
        (an ``environment`` meant for the run, say) never hides it."""
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    @extend_schema(request=ExecuteSerializer, responses={200: ExecuteResultSerializer})
    @requires(Action.RUN)
    @action(detail=True, methods=["post"])
    def execute(self, request, slug=None):
        call = self.get_object()
        body = ExecuteSerializer(data=request.data if isinstance(request.data, dict) else {"payload": request.data})
        body.is_valid(raise_exception=True)
        environment = None
        if body.validated_data.get("environment"):
            environment = environments.find(
                request.organization, body.validated_data["environment"], by_name_or_id=True
            )
            if environment is None:
                message = environments.unknown_message(request.organization, body.validated_data["environment"])
                return Response({"success": False, "stage": "environment", "error": message}, status=400)
        if not call.enabled:
            message = f"The managed call '{call.slug}' is disabled."
            return Response({"success": False, "stage": "call", "error": message}, status=status.HTTP_409_CONFLICT)
        try:
            data = runner.execute(call, body.validated_data.get("payload"), environment)
        except runner.CallFailed as failed:
            code = 504 if failed.timed_out else FAILURE_STATUS[failed.stage]
            return Response({"success": False, "stage": failed.stage, "error": failed.message}, status=code)
        return Response({"success": True, "data": data})
