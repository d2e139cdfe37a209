"""The current organization of every request (the query string guard is ``core.middleware``)."""

from __future__ import annotations

from accounts.organization import attach, resolve


class CurrentOrganizationMiddleware:
    """Pages get ``request.organization`` from the session; the API re-resolves it after DRF auth."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        attach(request, resolve(request, getattr(request, "user", None)))
        return self.get_response(request)
