from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import members
from accounts.models import ApiToken, Environment, Membership, Variable
from accounts.permissions import requires
from accounts.policy import Action
from accounts.serializers import (
    ApiTokenSerializer,
    EnvironmentSerializer,
    IssuedTokenSerializer,
    MemberAddSerializer,
    MemberRoleSerializer,
    MemberSerializer,
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


def refusal(refused: members.MemberRefused) -> Response:
    """A refused membership change in the API's error shape, with the field when it is about one."""
    body = {"detail": refused.message}
    if refused.field:
        body["errors"] = {refused.field: [refused.message]}
    return Response(body, status=refused.status)


class MemberViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The organization's members; adding, re-roling and removing follow ``accounts.members``' rules.

    Session only (the policy table gives members no token scope), so a leaked token cannot add its
    holder's accomplices to the organization.
    """

    queryset = Membership.objects.select_related("user").order_by("user__username")
    serializer_class = MemberSerializer
    resource = "members"
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return super().get_queryset().filter(organization=self.request.organization)

    @extend_schema(request=MemberAddSerializer, responses={201: MemberSerializer})
    @requires(Action.MANAGE_MEMBERS)
    def create(self, request, *args, **kwargs):
        given = MemberAddSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            membership = members.add(
                request.organization, request.membership, given.validated_data["user"], given.validated_data["role"]
            )
        except members.MemberRefused as refused:
            return refusal(refused)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberRoleSerializer, responses={200: MemberSerializer})
    @requires(Action.MANAGE_MEMBERS)
    def partial_update(self, request, *args, **kwargs):
        membership = self.get_object()
        given = MemberRoleSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            membership = members.change_role(membership, request.membership, given.validated_data["role"])
        except members.MemberRefused as refused:
            return refusal(refused)
        return Response(MemberSerializer(membership).data)

    @requires(Action.MANAGE_MEMBERS)
    def destroy(self, request, *args, **kwargs):
        membership = self.get_object()
        try:
            members.remove(membership, request.membership)
        except members.MemberRefused as refused:
            return refusal(refused)
        return Response(status=status.HTTP_204_NO_CONTENT)
