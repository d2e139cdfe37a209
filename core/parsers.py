"""The API's JSON parser: DRF's, reading through ``core.payloads.load_json`` so that every endpoint
answers a body nested too deeply or holding a number out of range with the same 400."""

from __future__ import annotations

from rest_framework import exceptions, parsers

from core.payloads import PayloadError, load_json


class JSONParser(parsers.JSONParser):
    """Set as the default in ``REST_FRAMEWORK``; ``json.loads`` detects UTF-8, -16 and -32 itself."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return load_json(stream.read(), "body")
        except PayloadError as exc:
            raise exceptions.ParseError(str(exc)) from None
