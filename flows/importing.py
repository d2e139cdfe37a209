"""What an import file must not bring, judged before ``flows.portable`` stores it (API and flow list page)."""

from __future__ import annotations

from django.utils.text import slugify

from flows import payloads
from flows.graph import InvalidGraph, Problem
from flows.serializers import RESERVED_SLUGS


def check_import(data) -> str:
    """The slug an import file takes (as ``flows.portable`` derives it), after refusing what portable would
    store as given: a reserved slug, which the import and new-flow URLs shadow, and values the database
    cannot store."""
    if not isinstance(data, dict):
        return ""
    payloads.refuse_unstorable(data, "file")
    slug = slugify(str(data.get("slug") or data.get("name") or ""))[:120]
    if slug in RESERVED_SLUGS:
        raise InvalidGraph(
            [Problem(None, "slug", f"'{slug}' is reserved; give the flow another slug in the file.")],
            "The file cannot be imported",
        )
    return slug
