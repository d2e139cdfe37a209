"""SAP BAPI: function modules called over RFC (the pyrfc API) or over RFC-over-SOAP web services.

Steps write ``CALL FUNCTION <NAME>: [ (PARAM: value), ... ]`` (``instructions.bapi``) and get
``{"export", "changing", "tables", "messages"}`` back from either transport, or each call's result
when there are several (``connectors.sap.results``). A BAPIRET2 message of type E or A fails the
step; the step options ``commit`` and ``warnings_as_errors`` add the commit / rollback and the
stricter reading of W, and ``message_parameter`` names the parameter holding the messages.
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from connectors.catalog import register
from connectors.catalog.base import ConnectorError, ConnectorType, Deadline, Field, StepTimeout, TestResult
from connectors.catalog.database import StageFailed, Stages, check_pool, first_line, pool_fields
from connectors.egress import EgressRefused, HostNotFound, open_first
from connectors.sap import calls, results, sessions
from connectors.sap.network import egress_policy, first_hop
from connectors.sap.rfc import load
from connectors.sap.soap import basic_credentials
from connectors.sap.values import SAP_NAME

ECHO = "erpflow connection test"
LOAD_BALANCING = "load balancing"
SOAP = "soap"


def _empty(values: dict, name: str) -> bool:
    """Present and empty: a missing key is an unresolved reference, which is judged after resolution."""
    return name in values and values[name] in (None, "")


@register
class SapType(ConnectorType):
    key = "sap"
    label = "SAP BAPI"
    category = "erp"
    icon = "sap"
    description = "Call BAPIs and remote-enabled function modules of an SAP system over RFC or SOAP."
    language = "bapi"
    extra = "sap"
    fields = (
        Field(
            "transport",
            "Transport",
            "RFC talks to the SAP gateway like SAP GUI tools do (needs the 'sap' extra); SOAP calls the "
            "same function modules through SAP's RFC web service over HTTP(S).",
            kind="choice",
            default="rfc",
            choices=(("rfc", "RFC"), ("soap", "SOAP over HTTP(S)")),
        ),
        Field(
            "ashost",
            "SAP application server",
            "Host name or IP address of the application server (leave empty for load-balanced logon).",
            max=255,
            destination=True,
        ),
        Field(
            "sysnr",
            "SAP system number",
            "The two-digit instance number of the system, such as 00; it decides the gateway port (33NN).",
            max=2,
        ),
        Field("client", "SAP client", "The three-digit client to log on to, such as 100.", required=True, max=3),
        Field("user", "Logon user", "The SAP user erpflow logs on as.", required=True, max=12),
        Field(
            "passwd",
            "Logon password",
            "That user's password; stored encrypted, never shown again.",
            secret=True,
            required=True,
        ),
        Field(
            "lang",
            "SAP logon language",
            "Language of the messages SAP returns, as a two-letter code.",
            default="EN",
            max=2,
        ),
        Field(
            "gwhost",
            "Hostname of the gateway",
            "Only when the gateway runs apart from the application server.",
            max=255,
            group="advanced",
            destination=True,
        ),
        Field(
            "gwserv",
            "Service name of the gateway",
            "The gateway's service or port, such as sapgw00 or 3300; only with a separate gateway.",
            max=32,
            group="advanced",
            destination=True,
        ),
        Field(
            "saprouter",
            "SAProuter string",
            "Route to the system through SAProuters, such as /H/router.example.com/S/3299/H/; empty for a "
            "direct connection.",
            max=255,
            group="advanced",
            destination=True,
        ),
        Field(
            "mshost",
            "Message server host",
            "For load-balanced logon instead of a fixed application server: the system's message server.",
            max=255,
            group=LOAD_BALANCING,
            destination=True,
        ),
        Field(
            "msserv",
            "Message server service",
            "The message server's service or port, such as sapmsPRD or 3600; empty for the default.",
            max=32,
            group=LOAD_BALANCING,
            destination=True,
        ),
        Field("sysid", "System ID", "The three-character system ID, such as PRD.", max=3, group=LOAD_BALANCING),
        Field(
            "group",
            "Logon group",
            "The logon group whose servers share the load (transaction SMLG).",
            default="PUBLIC",
            max=32,
            group=LOAD_BALANCING,
        ),
        Field(
            "soap_url",
            "SOAP service URL",
            "For the SOAP transport: the URL of the system's RFC SOAP service, such as "
            "https://sap.example.com:44300/sap/bc/soap/rfc.",
            kind="url",
            max=500,
            group=SOAP,
            destination=True,
        ),
        Field(
            "verify_tls",
            "Verify TLS certificate",
            "Check the HTTPS server's certificate; turn off only for a test system with a self-signed one.",
            kind="bool",
            default=True,
            group=SOAP,
            admin_only=True,
            strictness=(False, True),
        ),
        Field(
            "connect_timeout",
            "Connect timeout (s)",
            "How long to wait for the system when opening a session.",
            kind="int",
            default=10,
            min=1,
            max=300,
            group="advanced",
        ),
        *pool_fields(min_idle=1, max_pool=10),
    )
    step_options = (
        Field(
            "commit",
            "Commit",
            "Call BAPI_TRANSACTION_COMMIT (and wait) after a successful call, BAPI_TRANSACTION_ROLLBACK after "
            "a failed one, on the same session.",
            kind="bool",
            default=False,
        ),
        Field(
            "warnings_as_errors",
            "Treat warnings as errors",
            "Fail the step when the RETURN messages hold a warning (type W), not only an error or abort.",
            kind="bool",
            default=False,
        ),
        Field(
            "message_parameter",
            "Messages parameter",
            "The parameter holding the BAPIRET2 messages. When the function returns none of that name, "
            "every returned structure or table with TYPE and MESSAGE fields is read as messages.",
            default=results.MESSAGE_PARAMETER,
            max=30,
        ),
    )

    @classmethod
    def step_option_values(cls, given):
        """The shared checks, and the messages parameter must be an SAP name (it is looked up as one)."""
        values, errors = super().step_option_values(given)
        name = values.get("message_parameter")
        if isinstance(name, str) and not SAP_NAME.fullmatch(name):
            errors["message_parameter"] = f"'{name[:40]}' is not an SAP parameter name, such as RETURN or ET_RETURN"
            del values["message_parameter"]
        return values, errors

    def check(self, values: dict) -> dict[str, str]:
        errors = check_pool(values)
        for name, digits, label in (("sysnr", 2, "system number"), ("client", 3, "client")):
            value = values.get(name)
            if value not in (None, "") and not re.fullmatch(rf"\d{{{digits}}}", str(value)):
                errors[name] = f"The SAP {label} is {digits} digits, such as {'0' * digits}; it is '{value}'."
        if values.get("transport") == "soap":
            if _empty(values, "soap_url"):
                errors["soap_url"] = "The SOAP transport needs the URL of the system's RFC SOAP service."
            return errors
        if values.get("mshost"):
            if _empty(values, "sysid"):
                errors["sysid"] = "Load-balanced logon needs the system ID."
            if values.get("ashost"):
                errors["ashost"] = "Give either an application server or a message server, not both."
        elif _empty(values, "ashost") and _empty(values, "mshost"):
            errors["ashost"] = "Give the application server, or a message server for load-balanced logon."
        elif values.get("ashost") and _empty(values, "sysnr"):
            errors["sysnr"] = "A fixed application server needs its system number."
        return errors

    def derived_secrets(self, settings: dict) -> list[str]:
        """The SOAP transport's basic credentials, which an error page of the SAP system may repeat."""
        if settings.get("transport") != SOAP or not settings.get("passwd"):
            return []

        return [basic_credentials(settings)]

    # -- the test ---------------------------------------------------------------------------------

    def test(self, settings: dict) -> TestResult:
        stages = Stages()
        timeout = float(settings.get("connect_timeout") or 10)
        session = None
        try:
            if settings.get("transport") == SOAP:
                host, port, where = self._soap_target(settings)
            else:
                stages.run("load driver", _load_driver, first_line)
                host, port, where = first_hop(settings)
            addresses = stages.run(
                "resolve host",
                lambda: egress_policy(settings).check_host(host, port),
                lambda exc: _unresolved_advice(exc, host, where),
            )
            stages.run(
                "connect",
                lambda: open_first(addresses, port, timeout)[0].close(),
                lambda exc: (
                    f"nothing answers on {host} port {port} ({first_line(exc)}); check {where}, and that the "
                    "system is running and reachable from erpflow"
                ),
            )
            session = stages.run("logon", lambda: sessions.open_session(settings, timeout), first_line)
            stages.run("STFC_CONNECTION echo", lambda: _echo(session, timeout), first_line)
        except StageFailed:
            return stages.failed()
        finally:
            if session is not None:
                session.close()
        return stages.passed(f"Logged on to client {settings['client']} as {settings['user']}; the echo came back.")

    @staticmethod
    def _soap_target(settings: dict) -> tuple[str, int, str]:
        url = urlsplit(settings.get("soap_url") or "")
        port = url.port or (443 if url.scheme == "https" else 80)
        return url.hostname or "", port, "the SOAP service URL"

    # -- running ----------------------------------------------------------------------------------

    def open(self, settings: dict, *, name: str = "erpflow"):
        return sessions.open_pool(settings, name=name)

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict):
        return calls.run(client, calls.instruction_calls(instruction, params), deadline, options)


def _unresolved_advice(exc: Exception, host: str, where: str) -> str:
    if isinstance(exc, HostNotFound):
        return f"{exc}; check {where}"
    if isinstance(exc, EgressRefused):
        return str(exc)
    return f"the host name '{host}' cannot be resolved ({first_line(exc)}); check {where}"


def _load_driver() -> None:
    load()


def _echo(session, timeout: float) -> None:
    started = time.monotonic()
    try:
        answer = session.call("STFC_CONNECTION", {"REQUTEXT": ECHO}, Deadline(int(timeout * 1000)))
    except StepTimeout:
        raise ConnectorError(f"STFC_CONNECTION did not answer within {time.monotonic() - started:.1f} s") from None
    echoed = str(answer.get("ECHOTEXT", "")).strip()
    if echoed != ECHO:
        raise ConnectorError(f"STFC_CONNECTION answered, but echoed {echoed[:60]!r} instead of {ECHO!r}")
