"""The live pool of an HTTP connector: one keep-alive client and its authentication, lent to calls.

httpx's client is safe to share between threads and keeps its own connection pool (at most
``max_pool`` connections, the setting's meaning for every connector). Lending a ``Session`` counts
calls in flight for the pool figures (httpx does not expose its open connections); waiting for a
free connection happens inside httpx, bounded by the call's deadline (``request.execute`` sets the
pool timeout). Closing the pool logs a session out.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from connectors.catalog.base import ConnectorError, Deadline, pool_stats
from connectors.http.auth import SessionLogin
from connectors.http.client import build_client
from connectors.http.credentials import cookie_values
from connectors.http.fields import header_lines


@dataclass(frozen=True)
class Session:
    """What ``execute`` receives: the shared client, the auth to send with, the resolved settings."""

    client: httpx.Client
    auth: httpx.Auth | None
    settings: dict
    base_url: str
    default_headers: tuple[tuple[str, str], ...]
    secrets: tuple[str, ...] = ()

    def credentials(self) -> list[str]:
        """Every credential a call may carry, in every form it travels in: the settings' secrets and what
        the type derives from them (``secrets``), the current OAuth2 token, the session login's cookies
        and any cookie a server set on the client. A server that echoes a request (a debugging endpoint,
        an error page) must not put them into a step's output."""
        live = []
        token = getattr(self.auth, "token", None)
        if token:
            live.append(token)
        for cookies in (getattr(self.auth, "cookies", None), self.client.cookies):
            live += cookie_values(cookies)
        return [*self.secrets, *live]  # the masker adds the forms they travel in


class HttpPool:
    def __init__(
        self,
        settings: dict,
        *,
        base_url: str,
        auth: httpx.Auth | None,
        secrets: tuple[str, ...] = (),
        name: str = "http",
    ):
        self.name = name
        self.max_size = int(settings.get("max_pool") or 20)
        try:
            defaults = tuple(header_lines(settings.get("default_headers")))
        except ValueError as problem:
            raise ConnectorError(f"default headers: {problem}") from None
        self.session = Session(
            client=build_client(settings, max_connections=self.max_size),
            auth=auth,
            settings=settings,
            base_url=base_url,
            default_headers=defaults,
            secrets=secrets,
        )
        self.lock = threading.Lock()
        self.in_use = 0
        self.errors = 0
        self.closed = False

    @contextmanager
    def connection(self, deadline: Deadline) -> Iterator[Session]:
        with self.lock:
            if self.closed:
                raise ConnectorError("the connection pool is closed (the connector was changed); try again")
            self.in_use += 1
        try:
            yield self.session
        except BaseException:
            with self.lock:
                self.errors += 1
            raise
        finally:
            with self.lock:
                self.in_use -= 1

    def stats(self) -> dict[str, int]:
        with self.lock:
            return pool_stats(in_use=self.in_use, errors=self.errors, max_size=self.max_size)

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        if isinstance(self.session.auth, SessionLogin):
            self.session.auth.logout(self.session.client)
        self.session.client.close()
