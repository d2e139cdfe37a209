"""What a trigger reads about its flow on every request, kept for a second in each process.

A flow by (organization, slug) and its deployment by (flow, environment slug): with the token and
the membership (``accounts.auth_cache``) these were most of a trigger's queries. An entry lives
``SECONDS``: a deploy, a disabled flow or a new slug made in another process takes effect here
within that time, in this process at once (the receivers in ``flows.apps`` drop every entry when a
flow, version or deployment is saved or deleted).
"""

from __future__ import annotations

from core.ttl_cache import TTLCache
from flows.models import Deployment, Flow

SECONDS = 1.0

_flows = TTLCache(SECONDS)
_deployments = TTLCache(SECONDS)


def flow(organization_id: int, slug: str) -> Flow | None:
    """The flow without its draft and description (a trigger needs neither)."""
    return _flows.get((organization_id, slug), lambda: _flow(organization_id, slug))


def deployment(flow: Flow, env_slug: str) -> Deployment | None:
    """The deployment of ``flow`` in ``env_slug``, with its environment and version (not its graph)."""
    return _deployments.get((flow.pk, env_slug), lambda: _deployment(flow, env_slug))


# The queries are built on a miss only: building one costs about what reading the cached row saves.


def _flow(organization_id: int, slug: str) -> Flow | None:
    return Flow.objects.filter(organization_id=organization_id, slug=slug).defer("draft", "description").first()


def _deployment(flow: Flow, env_slug: str) -> Deployment | None:
    return (
        Deployment.objects.filter(flow=flow, environment__slug=env_slug)
        .select_related("environment", "version")
        .defer("version__graph")
        .first()
    )


def forget_everything(**_) -> None:
    _flows.forget()
    _deployments.forget()
