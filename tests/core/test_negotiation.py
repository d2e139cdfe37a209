"""``core.negotiation.QuickNegotiation`` picks the renderer and media type DRF's own negotiation picks,
or refuses where it refuses, for every Accept header, format and renderer list."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from core.negotiation import QuickNegotiation

ACCEPTS = [
    None,
    "*/*",
    "",
    "application/json",
    "text/html",
    "application/xml",
    "application/json; indent=4",
    "text/html, */*;q=0.8",
    "application/*",
    "*/*;q=0.5",
]
FORMATS = [("", None), ("?format=json", None), ("?format=api", None), ("", "json"), ("", "api")]
RENDERERS = [[JSONRenderer], [JSONRenderer, BrowsableAPIRenderer], [BrowsableAPIRenderer, JSONRenderer]]


def choice(negotiation, request, renderers, suffix):
    try:
        renderer, media_type = negotiation.select_renderer(request, [r() for r in renderers], suffix)
    except NotAcceptable:
        return "406"
    except Http404:  # a format no renderer has
        return "404"
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("renderers", RENDERERS, ids=lambda rs: "+".join(r.__name__ for r in rs))
def test_it_answers_as_drf_answers(renderers):
    factory = APIRequestFactory()
    answers = set()
    for accept in ACCEPTS:
        for query, suffix in FORMATS:
            headers = {} if accept is None else {"HTTP_ACCEPT": accept}
            request = Request(factory.get(f"/api/v1/flows{query}", **headers))
            expected = choice(DefaultContentNegotiation(), request, renderers, suffix)
            assert choice(QuickNegotiation(), request, renderers, suffix) == expected, (accept, query, suffix)
            answers.add(expected)
    assert "406" in answers and len(answers) >= 3  # the grid reaches refusals and several renderers


def test_the_api_negotiates_with_it(api):
    response = api.get("/api/v1/audit/", HTTP_ACCEPT="application/xml")
    assert response.status_code == 406
    assert api.get("/api/v1/audit/").headers["Content-Type"] == "application/json"
