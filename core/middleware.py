"""The query string guard every request passes before any view filters by a parameter."""

from __future__ import annotations

from django.shortcuts import render

from core.errors import answers_json, json_error


class QueryStringGuardMiddleware:
    """A NUL character in any query parameter's name or value is refused with a 400 naming the parameter,
    on every API endpoint, webhook and page, before a view filters by it: PostgreSQL cannot compare
    text holding one, so each filter would otherwise fail with a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        for name, values in request.GET.lists():
            if "\x00" in name or any("\x00" in value for value in values):
                shown = name.replace("\x00", "%00")
                message = f"The query parameter '{shown}' contains a NUL character (%00), which none may hold."
                if not answers_json(request.path):
                    return render(request, "core/bad_request.html", {"message": message}, status=400)
                response = json_error(message, 400, field=name)
                if request.path.startswith("/hooks/"):
                    # A webhook's path is its secret token: keep it out of Django's request log, as the
                    # webhook view itself does.
                    response._has_been_logged = True
                return response
        return self.get_response(request)
