"""What every API request reads about its caller, kept for a second in each process.

A bearer token's row (with its organization and user) by key id, and a member's membership (with
its organization) by (user, organization): about half of a trigger request's time went to reading
them. Each entry lives ``SECONDS``: a token revoked, a role changed or a user deactivated in another
process takes effect here within that time; in this process at once, as the receivers in
``accounts.apps`` drop the entries on every save and delete. The token's secret is checked against
its hash on every request, cached or not.
"""

from __future__ import annotations

from core.ttl_cache import TTLCache

SECONDS = 1.0

tokens = TTLCache(SECONDS)  # key id -> ApiToken (usable when loaded) or None
memberships = TTLCache(SECONDS)  # (user id, organization id) -> Membership or None


def forget_everything(**_) -> None:
    """A receiver: any change to tokens, members, users or organizations drops this process's entries.
    Such changes are rare next to requests, so dropping all is simpler than tracking keys."""
    tokens.forget()
    memberships.forget()
