from __future__ import annotations

from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import ApiToken, Environment, Variable
from accounts.permissions import requires
from accounts.policy import Action
from accounts.serializers import (
    ApiTokenSerializer,
    EnvironmentSerializer,
    IssuedTokenSerializer,
    VariableSerializer,
)
from accounts.tenancy import OrganizationScopedMixin


class EnvironmentViewSet(OrganizationScopedMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Environment.objects.all()
    serializer_class = EnvironmentSerializer
    resource = "environments"


class VariableViewSet(OrganizationScopedMixin, viewsets.ModelViewSet):
    queryset = Variable.objects.select_related("environment")
    serializer_class = VariableSerializer
    resource = "variables"

    def get_queryset(self):
        queryset = super().get_queryset()
        environment = self.request.query_params.get("environment")
        return queryset.filter(environment__slug=environment) if environment else queryset


class ApiTokenViewSet(
    OrganizationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """A member manages their own tokens; tokens cannot mint tokens (session only)."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    resource = "tokens"

    def get_queryset(self):
        return super().get_queryset().filter(user=self.request.user)

    @requires(Action.MANAGE_TOKENS)
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, plain = ApiToken.issue(organization=request.organization, user=request.user, **serializer.validated_data)
        data = IssuedTokenSerializer(token).data
        data["token"] = plain
        return Response(data, status=status.HTTP_201_CREATED)

    @requires(Action.MANAGE_TOKENS)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        token.revoke()
        return Response(ApiTokenSerializer(token).data)
