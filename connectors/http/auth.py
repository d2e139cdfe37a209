"""Authentication schemes of HTTP connectors, as httpx ``Auth`` flows.

A flow may send requests of its own before the call (a token request, a login); httpx sends them
through the same client and transport, so the egress guard and TLS settings apply to them too. The
token and the session live in the pool (one per connector, environment and worker process) and are
shared by every call through it:

- OAuth2 client credentials: the token is cached until shortly before ``expires_in`` runs out;
  a 401 on a call made with the cached token drops it and retries the call once with a new one.
- Session login: one login per pool; its cookies go with every call; a 401 means the session
  expired, so one caller signs in again and the call is retried once. The pool logs out when it closes.

Credentials never enter messages: what a failed token request or login says is the server's answer.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator

import httpx

from connectors.catalog.base import ConnectorError
from connectors.http.fields import header_lines, lines
from connectors.http.response import status_failure

EXCERPT = 300


def excerpt(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:EXCERPT] + ("..." if len(text) > EXCERPT else "")


def _with_timeout_of(request: httpx.Request, new: httpx.Request) -> httpx.Request:
    """``new`` carries ``request``'s timeouts: a request httpx did not build itself has none otherwise."""
    if "timeout" in request.extensions:
        new.extensions["timeout"] = request.extensions["timeout"]
    return new


class BearerAuth(httpx.Auth):
    def __init__(self, token: str):
        self.header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.header
        yield request


class ApiKeyAuth(httpx.Auth):
    def __init__(self, name: str, key: str, where: str):
        self.name, self.key, self.where = name, key, where

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self.where == "query":
            request.url = request.url.copy_merge_params({self.name: self.key})
        else:
            request.headers[self.name] = self.key
        yield request


class OAuth2ClientCredentials(httpx.Auth):
    """See the module docstring; ``token_requests`` counts the tokens fetched, for the pool's log."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.lock = threading.Lock()
        self.token: str | None = None
        self.refresh_at = 0.0
        self.token_requests = 0

    def valid_token(self) -> str | None:
        return self.token if self.token and time.monotonic() < self.refresh_at else None

    def token_request(self, request: httpx.Request) -> httpx.Request:
        s = self.settings
        form = {"grant_type": "client_credentials"}
        for name in ("scope", "audience", "resource"):
            if s.get(f"oauth_{name}"):
                form[name] = s[f"oauth_{name}"]
        form.update(lines(s.get("oauth_body_params"), "="))
        headers = dict(header_lines(s.get("oauth_headers")))
        headers.setdefault("Accept", "application/json")
        auth = None
        if s.get("oauth_client_auth") == "basic":
            auth = httpx.BasicAuth(s["oauth_client_id"], s["oauth_client_secret"])
        else:
            form.update({"client_id": s["oauth_client_id"], "client_secret": s["oauth_client_secret"]})
        url = httpx.URL(s["oauth_token_url"]).copy_merge_params(dict(lines(s.get("oauth_query_params"), "=")))
        new = httpx.Request("POST", url, data=form, headers=headers)
        if auth is not None:
            new = next(auth.auth_flow(new))
        return _with_timeout_of(request, new)

    def store(self, response: httpx.Response) -> str:
        response.read()
        if response.status_code != 200:
            raise ConnectorError(
                f"the OAuth2 token endpoint answered {response.status_code}: {excerpt(response)}",
                failure=status_failure(response),
            )
        try:
            answer = response.json()
            token = answer["access_token"]
        except (ValueError, KeyError, TypeError):
            raise ConnectorError("the OAuth2 token endpoint's answer holds no access_token") from None
        lifetime = answer.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float | str) and str(lifetime).isdigit() else 3600.0
        self.token = str(token)
        self.refresh_at = time.monotonic() + lifetime - min(30.0, lifetime / 10)
        self.token_requests += 1
        return self.token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self.valid_token()
        if token is None:
            with self.lock:  # one caller fetches; the others take its token
                token = self.valid_token()
                if token is None:
                    token = self.store((yield self.token_request(request)))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != 401:
            return
        with self.lock:
            if self.token == token:
                self.token = None
                token = self.store((yield self.token_request(request)))
            else:
                token = self.valid_token() or self.store((yield self.token_request(request)))
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class SessionLogin(httpx.Auth):
    """A login whose cookies every call carries; see the module docstring."""

    def __init__(self, *, login_url: str, body: dict, logout_url: str = "", product: str = "the API"):
        self.login_url, self.body, self.logout_url, self.product = login_url, body, logout_url, product
        self.lock = threading.Lock()
        self.cookies: httpx.Cookies | None = None
        self.logins = 0

    def login_request(self, request: httpx.Request) -> httpx.Request:
        return _with_timeout_of(request, httpx.Request("POST", self.login_url, json=self.body))

    def signed_in(self, response: httpx.Response) -> httpx.Cookies:
        response.read()
        if response.status_code >= 400:
            answer = excerpt(response)
            advice = ""
            if "login limit" in answer.lower():
                advice = (
                    f" ({self.product} allows no further API session now: lower the concurrency level or wait "
                    "for older sessions to expire)"
                )
            raise ConnectorError(
                f"session login answered {response.status_code}: {answer}{advice}", failure=status_failure(response)
            )
        cookies = httpx.Cookies()
        cookies.extract_cookies(response)
        if not cookies:
            raise ConnectorError(f"session login answered {response.status_code} but set no session cookie")
        self.logins += 1
        return cookies

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        cookies = self.cookies
        if cookies is None:
            with self.lock:
                cookies = self.cookies
                if cookies is None:
                    cookies = self.cookies = self.signed_in((yield self.login_request(request)))
        self.apply(cookies, request)
        response = yield request
        if response.status_code != 401:
            return
        with self.lock:  # the session expired: one caller signs in again, the others reuse its session
            if self.cookies is cookies or self.cookies is None:
                self.cookies = self.signed_in((yield self.login_request(request)))
            cookies = self.cookies
        self.apply(cookies, request)
        yield request

    @staticmethod
    def apply(cookies: httpx.Cookies, request: httpx.Request) -> None:
        request.headers.pop("Cookie", None)
        cookies.set_cookie_header(request)

    def logout(self, client: httpx.Client) -> None:
        """End the session on the server (the pool is closing); a failure only leaves it to expire there."""
        with self.lock:
            cookies, self.cookies = self.cookies, None
        if cookies is None or not self.logout_url:
            return
        request = client.build_request("POST", self.logout_url, timeout=5.0)
        self.apply(cookies, request)
        with contextlib.suppress(httpx.HTTPError, ConnectorError):  # ConnectorError: a refused redirect
            client.send(request, auth=None).close()


def for_settings(settings: dict, *, base_url: str) -> httpx.Auth | None:
    """The auth of the generic HTTP type's settings (Acumatica builds its session login itself)."""
    kind = settings.get("auth_type") or "none"
    if kind == "basic":
        return httpx.BasicAuth(settings["username"], settings["password"])
    if kind == "bearer":
        return BearerAuth(settings["token"])
    if kind == "api_key":
        return ApiKeyAuth(settings.get("api_key_name") or "X-API-Key", settings["api_key"], settings.get("api_key_in"))
    if kind == "oauth2_client_credentials":
        return OAuth2ClientCredentials(settings)
    if kind == "session":
        body = {
            settings.get("session_username_field") or "username": settings["username"],
            settings.get("session_password_field") or "password": settings["password"],
            **dict(lines(settings.get("session_extra"), "=")),
        }
        logout = settings.get("session_logout_path") or ""
        return SessionLogin(
            login_url=join(base_url, settings["session_login_path"]),
            body=body,
            logout_url=join(base_url, logout) if logout else "",
        )
    return None


def join(base_url: str, path: str) -> str:
    """``path`` under ``base_url`` (keeping the base's own path), as the instructions' paths are."""
    return base_url.rstrip("/") + "/" + path.lstrip("/")
