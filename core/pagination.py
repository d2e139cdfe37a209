"""The API's pagination: limit and offset, bounded so no query string can make the database fail."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    """At most ``max_limit`` rows a page; an offset beyond what PostgreSQL can count (a bigint) gives an
    empty page instead of a 500."""

    max_limit = 500
    max_offset = 2**62

    def get_offset(self, request) -> int:
        return min(super().get_offset(request), self.max_offset)
