"""One mechanism that keeps every organization's rows apart.

Every domain model inherits ``OrganizationScoped``; every API viewset inherits
``OrganizationScopedMixin`` and every page uses ``scoped(Model, request)``. A row of another
organization is simply not in the queryset, so it answers 404, never 403: an outsider cannot even
learn that it exists.
"""

from __future__ import annotations

from django.db import models
from django.http import Http404


class OrganizationQuerySet(models.QuerySet):
    def for_organization(self, organization):
        if organization is None:
            return self.none()
        return self.filter(organization=organization)


class OrganizationScoped(models.Model):
    """Base of every row that belongs to one organization."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+")

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        abstract = True


def scoped(model_or_queryset, request):
    queryset = (
        model_or_queryset
        if isinstance(model_or_queryset, models.QuerySet)
        else model_or_queryset._default_manager.all()
    )
    return queryset.for_organization(getattr(request, "organization", None))


def get_scoped_or_404(model_or_queryset, request, **lookup):
    try:
        return scoped(model_or_queryset, request).get(**lookup)
    except (models.ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("Not found") from None


class OrganizationScopedMixin:
    """For DRF viewsets: the queryset is the organization's; new rows get the organization."""

    def get_queryset(self):
        return scoped(super().get_queryset(), self.request)

    def perform_create(self, serializer):
        serializer.save(organization=self.request.organization)
