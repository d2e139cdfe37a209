"""Acumatica's contract-based REST API, with cookie (session) login.

A step's path is relative to the endpoint, ``{instance}/entity/{endpoint name}/{endpoint version}``:
``GET /SalesOrder?$top=10``-style calls are written as ``GET /SalesOrder`` with ``?$top=10`` on a line
of its own. The pool signs in once (``POST {instance}/entity/auth/login`` with name, password,
company and branch), every call carries the session cookie, an expired session (401) is signed in
again once, and the pool signs out when it closes, since Acumatica licenses limit concurrent API
sessions. The connection test signs in and out again for the same reason.
"""

from __future__ import annotations

from connectors import values
from connectors.catalog import register
from connectors.catalog.base import ConnectorError, ConnectorType, Deadline, Field, TestResult
from connectors.catalog.http import STEP_OPTIONS, test_stages
from connectors.http import fields as shared
from connectors.http.auth import SessionLogin, join
from connectors.http.pool import HttpPool
from connectors.http.request import execute as send


def instance_root(uri: str) -> str:
    """The instance's root URL: a URI copied with its ``/entity/...`` part (as the web service page shows
    it) is cut there."""
    root = uri.strip().rstrip("/")
    cut = root.lower().find("/entity/")
    return root[:cut] if cut >= 0 else root


@register
class AcumaticaType(ConnectorType):
    key = "acumatica"
    label = "Acumatica"
    category = "erp"
    icon = "acumatica"
    description = "Acumatica cloud ERP through its contract-based REST endpoints, signed in with a session cookie."
    language = "http"
    fields = (
        Field(
            "instance_uri",
            "Instance URI",
            "The address of the Acumatica instance, as in your browser: https://example.acumatica.com or "
            "https://erp.example.com/AcumaticaERP (a copied URI ending in /entity/... is cut there).",
            kind="url",
            required=True,
            max=2000,
            destination=True,
        ),
        Field(
            "endpoint_name",
            "Endpoint name",
            "The web service endpoint to call, as listed under Web Service Endpoints: Default, Manufacturing, "
            "Ecommerce or one of your own.",
            default="Default",
            required=True,
            max=120,
        ),
        Field(
            "endpoint_version",
            "Endpoint version",
            "The endpoint's version from the same list, such as 24.200.001.",
            default="24.200.001",
            required=True,
            max=40,
        ),
        Field("username", "Username", "The Acumatica user erpflow signs in as.", required=True, max=255),
        Field("password", "Password", "That user's password; stored encrypted, never shown again.", secret=True),
        Field("company", "Company", "The company (tenant) to sign in to; empty when the instance has one.", max=255),
        Field("branch", "Branch", "The branch to sign in to; empty for the user's default.", max=255),
        *shared.tls_fields(),
        *shared.limit_fields(max_pool=10),
        *shared.concurrency_fields(default=5),
        *shared.network_fields(),
    )
    step_options = STEP_OPTIONS

    def check(self, values: dict) -> dict[str, str]:
        errors = shared.check_common(values)
        if "password" in values and not values["password"]:
            errors["password"] = "Required to sign in to Acumatica."  # noqa: S105 - a message, not a password
        return errors

    def open(self, settings: dict, *, name: str = "erpflow") -> HttpPool:
        root = instance_root(settings["instance_uri"])
        body = {"name": settings["username"], "password": settings["password"]}
        for field in ("company", "branch"):
            if settings.get(field):
                body[field] = settings[field]
        login = SessionLogin(
            login_url=join(root, "/entity/auth/login"),
            body=body,
            logout_url=join(root, "/entity/auth/logout"),
            product="the Acumatica license",
        )
        base_url = join(root, f"/entity/{settings['endpoint_name']}/{settings['endpoint_version']}")
        secrets = tuple(values.secret_values(type(self), settings))
        return HttpPool(settings, base_url=base_url, auth=login, secrets=secrets, name=name)

    def test(self, settings: dict) -> TestResult:
        try:
            pool = self.open(settings, name="erpflow test")
        except ConnectorError as exc:
            return TestResult(False, str(exc), [])
        try:
            return test_stages(pool, "/", sign_in=True)
        finally:
            pool.close()

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        return send(client, params, deadline, options)
