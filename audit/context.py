"""Who is acting right now: the request being served, or the Celery task being run.

The middleware stores the request itself rather than its user, because an API request's user and
token are only known once DRF has authenticated it, after the middleware ran; DRF writes them back
onto the same request, so reading them when an event is recorded gives the right actor.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from accounts.models import ApiToken


@dataclass(frozen=True)
class Actor:
    user: object | None
    token: ApiToken | None
    label: str


_request: ContextVar[object | None] = ContextVar("audit_request", default=None)
_task: ContextVar[str | None] = ContextVar("audit_task", default=None)


@contextmanager
def serving(request):
    reset = _request.set(request)
    try:
        yield
    finally:
        _request.reset(reset)


def start_task(name: str):
    return _task.set(name)


def end_task(reset) -> None:
    _task.reset(reset)


def current() -> Actor:
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            token = getattr(request, "auth", None)
            token = token if isinstance(token, ApiToken) else None
            label = f"{user.get_username()} (token {token.name})" if token else user.get_username()
            return Actor(user, token, label)
        return Actor(None, None, "anonymous")
    task = _task.get()
    return Actor(None, None, f"system: {task}" if task else "system")
