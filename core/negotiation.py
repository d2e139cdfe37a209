"""DRF's content negotiation, with the common case answered before any parsing.

Nearly every API call accepts anything (no Accept header, or ``*/*``) or exactly the media type of
the view's first renderer. DRF's general algorithm parses the header into media types, orders them
by precedence and matches each renderer against them, which on a waited trigger cost more than
finding its flow. For those two cases ``QuickNegotiation`` gives the answer DRF gives (the first
renderer, with its own media type or the one asked for); any other header, a format suffix or a
``?format=`` goes through DRF's negotiation unchanged. ``tests/core/test_negotiation.py`` checks
the two agree.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation


class QuickNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        override = self.settings.URL_FORMAT_OVERRIDE
        if renderers and not format_suffix and not (override and override in request.query_params):
            accept = request.META.get("HTTP_ACCEPT", "*/*")
            first = renderers[0]
            if accept == "*/*":
                return first, first.media_type
            if accept == first.media_type:
                return first, accept
        return super().select_renderer(request, renderers, format_suffix)
