"""RFC over SOAP: a function module call as SAP's SOAP envelope, over HTTP(S) with basic auth.

The request body is the envelope SAP's RFC SOAP handler reads: the function module as the one
element of the SOAP body, in the ``urn:sap-com:document:sap:rfc:functions`` namespace, with one
child element per parameter; a structure nests its fields, a table holds one ``<item>`` per row.
Names with a namespace (``/NS/NAME``) are written ``_-NS_-NAME``, as SAP does. The response's
``<NAME>Response`` element is read back the same way. The XML is built and read with xmltodict
(entity declarations refused), never by pasting values into text.

A ``SoapSession`` is one HTTP client with keep-alive, SAP's session cookies and its CSRF token: the
pool lends it to one step at a time. SAP's SOAP handler is stateless unless asked: each request
runs in a new ABAP session, so a ``BAPI_TRANSACTION_COMMIT`` sent alone would commit nothing. For
an instruction of several requests (several calls, or a commit) ``stateful`` opens one ABAP
session: the first request asks for it (``sap-sessioncmd=open``), SAP answers with its
``sap-contextid`` cookie, which the client's cookie jar sends with every later request, and the
end of the instruction closes it (``sap-sessioncmd=close``) and drops the cookie, so the next step
lent this session starts clean. The client is made in ``http_client`` only, so the
installation's network policy can replace how outbound connections are opened in one place.
The step's deadline is the HTTP timeout of each request; when it passes, the request is abandoned
(SAP finishes or stops the work process on its own; HTTP offers no cancel).
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import xmltodict

from connectors.catalog.base import CONNECTION, ConnectorError, Deadline, StepTimeout
from connectors.egress import GuardedTransport
from connectors.http.credentials import cookie_values
from connectors.http.response import status_failure
from connectors.sap import logon, values
from connectors.sap.network import egress_policy
from core.masking import Masker

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
RFC_NS = "urn:sap-com:document:sap:rfc:functions"
USER_AGENT = "erpflow-sap-soap"
CONTEXT_COOKIE = "sap-contextid"  # SAP's cookie naming the stateful ABAP session
CLOSE_GRACE_MS = 1000  # closing the ABAP session may take this long, even after the step's time ran out


def basic_credentials(settings: dict) -> str:
    """The base64 part of the ``Authorization: Basic`` header the session sends, as httpx encodes it."""
    return base64.b64encode(f"{settings['user']}:{settings.get('passwd') or ''}".encode()).decode()


def http_client(settings: dict, *, timeout: float) -> httpx.Client:
    """The HTTP client of one SOAP session (TLS verified unless the settings turn it off), every
    connection through the network policy; proxies from the environment are ignored, as they would
    bypass it."""

    verify = bool(settings.get("verify_tls", True))
    return httpx.Client(
        auth=httpx.BasicAuth(settings["user"], settings.get("passwd") or ""),
        transport=GuardedTransport(egress_policy(settings), verify=verify),
        trust_env=False,
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
    )


def xml_name(name: str) -> str:
    return name.replace("/", "_-")


def sap_name(tag: str) -> str:
    local = tag.rsplit(":", 1)[-1]
    return local.replace("_-", "/")


def _element(value: Any) -> Any:
    """A parameter value as xmltodict's structure: text, nested fields, or ``item`` rows."""
    if isinstance(value, dict):
        return {xml_name(key): _element(item) for key, item in value.items()} or None
    if isinstance(value, list):
        return {"item": [_element(row) for row in value]} if value else None
    return values.as_text(value)


def envelope(function: str, params: dict) -> bytes:
    """The SOAP request for one call; ``params`` already checked (``connectors.sap.values``)."""
    body = {
        f"rfc:{xml_name(function)}": {"@xmlns:rfc": RFC_NS, **{xml_name(k): _element(v) for k, v in params.items()}}
    }
    document = {"soapenv:Envelope": {"@xmlns:soapenv": SOAP_ENV, "soapenv:Header": None, "soapenv:Body": body}}
    return xmltodict.unparse(document, encoding="utf-8").encode("utf-8")


def _value(node: Any) -> Any:
    """xmltodict's reading of an element back into SAP data (``item`` children are a table)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):  # a name repeated outside an ``item`` list
        return [_value(item) for item in node]
    children = {key: item for key, item in node.items() if not key.startswith("@") and key != "#text"}
    if not children:
        return (node.get("#text") or "") if isinstance(node, dict) else ""
    if list(children) == ["item"] or all(sap_name(key) == "item" for key in children):
        rows = next(iter(children.values()))
        return [_value(row) for row in (rows if isinstance(rows, list) else [rows])]
    return {sap_name(key): _value(item) for key, item in children.items()}


def _read(content: bytes) -> dict:
    try:
        return xmltodict.parse(content, force_list=("item",), disable_entities=True)
    except Exception as exc:  # expat's errors and xmltodict's refusal of entities
        raise ConnectorError(f"the SAP system answered with XML that cannot be read: {type(exc).__name__}") from None


def _body(document: dict) -> dict:
    envelope_node = next((v for k, v in document.items() if sap_name(k) == "Envelope"), None)
    if not isinstance(envelope_node, dict):
        raise ConnectorError("the SAP system's answer is not a SOAP envelope")
    body = next((v for k, v in envelope_node.items() if sap_name(k) == "Body"), None)
    return body if isinstance(body, dict) else {}


def response_values(function: str, content: bytes) -> dict:
    """The returned parameters of a SOAP response; ConnectorError for a fault or an unexpected answer."""
    body = _body(_read(content))
    for key, node in body.items():
        if key.startswith("@"):
            continue
        if sap_name(key) == "Fault":
            raise fault_error(node)
        values = _value(node)
        return values if isinstance(values, dict) else {}
    raise ConnectorError(f"the SAP system answered {function} with an empty SOAP body")


def fault_error(node: Any) -> ConnectorError:
    node = node if isinstance(node, dict) else {}
    text = _value(node.get("faultstring")) or "no reason given"
    detail = _value(node.get("detail")) if node.get("detail") is not None else {}
    code = ""
    if isinstance(detail, dict):
        inner = next(iter(detail.values()), {})
        if isinstance(inner, dict):
            code = str(inner.get("Name") or "")
    suffix = f" ({code})" if code else ""
    return ConnectorError(f"the SAP system answered with a SOAP fault: {str(text)[:500]}{suffix}")


def _reason(response: httpx.Response) -> str:
    """SAP's own words in an error answer: the Gateway's JSON message, or the start of the text."""
    try:
        message = json.loads(response.content).get("error", {}).get("message", {})
        return str(message.get("value") if isinstance(message, dict) else message or "")
    except (ValueError, AttributeError):
        return response.text[:200].strip()


def _http_error(response: httpx.Response, *, user: str, client: str) -> ConnectorError:
    """An error answer in words, with its status (and ``Retry-After``) as the failure a retry policy reads."""
    status = response.status_code
    reason = _reason(response)
    if status == 401 or status == 400 and "client" in reason.lower():
        message = f"the SAP system refused the logon (HTTP {status}): " + logon.in_words(
            reason, user=user, client=client
        )
    elif status == 403:
        message = "the SAP system refused the call (HTTP 403): the user lacks an authorization"
    else:
        message = f"the SAP system answered HTTP {status}" + (f": {reason}" if reason else "")
    return ConnectorError(message, failure=status_failure(response))


class SoapSession:
    """One logged-on HTTP session to SAP's RFC SOAP service (see the module docstring)."""

    def __init__(self, settings: dict, *, connect_timeout: float):
        url = settings.get("soap_url") or ""
        if not urlsplit(url).hostname:
            raise ConnectorError("the SOAP service URL is missing or has no host")
        self.url = url
        self.query = {"sap-client": settings["client"], "sap-language": settings.get("lang") or "EN"}
        self.user = settings["user"]
        self.connect_timeout = connect_timeout
        self.http = http_client(settings, timeout=connect_timeout)
        self.csrf: str | None = None
        self.opening = False  # the next request asks SAP for a stateful session (see ``stateful``)
        self.secrets = [settings.get("passwd") or "", basic_credentials(settings)]

    def _timeout(self, deadline: Deadline) -> httpx.Timeout:
        left = deadline.remaining()
        if left <= 0:
            raise StepTimeout("the step's timeout ran out before the SAP call could start")
        return httpx.Timeout(left, connect=min(left, self.connect_timeout))

    def _send(self, method: str, deadline: Deadline, command: str | None = None, **kwargs) -> httpx.Response:
        command = command or ("open" if self.opening else None)
        query = {**self.query, "sap-sessioncmd": command} if command else self.query
        try:
            response = self.http.request(method, self.url, params=query, timeout=self._timeout(deadline), **kwargs)
        except httpx.TimeoutException:
            raise StepTimeout(
                f"the SAP system did not answer within the step's timeout ({deadline.timeout_ms} ms); "
                "the HTTP request was abandoned"
            ) from None
        except httpx.HTTPError as exc:
            raise ConnectorError(
                f"the SAP system at {self.url} cannot be reached: {type(exc).__name__}: {exc}", failure=CONNECTION
            ) from None
        if command == "open" and response.status_code == 200:
            self.opening = False
        return response

    @contextlib.contextmanager
    def stateful(self) -> Iterator[None]:
        """Run the requests inside in one ABAP session of SAP (see the module docstring)."""
        self.opening = True
        try:
            yield
        finally:
            opened = not self.opening
            self.opening = False
            if opened:
                with contextlib.suppress(ConnectorError):  # SAP ends an abandoned session on its own timeout
                    self._send("GET", Deadline(CLOSE_GRACE_MS), command="close")
                for cookie in [c for c in self.http.cookies.jar if c.name == CONTEXT_COOKIE]:
                    self.http.cookies.jar.clear(cookie.domain, cookie.path, cookie.name)

    def logon(self, deadline: Deadline) -> None:
        """Authenticate and fetch a CSRF token (systems that require one on POST hand it out here)."""
        response = self._send("GET", deadline, headers={"X-CSRF-Token": "Fetch"})
        if response.status_code in (401, 403) or (response.status_code == 400 and "client" in response.text.lower()):
            raise self._refused(response)
        self.csrf = response.headers.get("x-csrf-token") or None

    def _refused(self, response: httpx.Response) -> ConnectorError:
        return _http_error(response, user=self.user, client=self.query["sap-client"])

    def call(self, function: str, params: dict, deadline: Deadline, wanted: set[str] | None = None) -> dict:
        """The function's answer, with the session's credentials masked in it and in any error: an SAP
        error page or a fault may repeat the request's ``Authorization`` header or cookies. SOAP cannot
        leave outputs out of the answer: those not ``wanted`` are dropped by ``results.selected``."""

        masker = Masker(self.credentials())
        try:
            return masker.value(self._call(function, params, deadline))
        except ConnectorError as exc:
            exc.args = (masker.text(str(exc)),)
            raise

    def credentials(self) -> list[str]:
        """The password, the basic credentials, SAP's session cookies and CSRF token (the masker adds
        every form they travel in)."""

        return [*self.secrets, *cookie_values(self.http.cookies), self.csrf or ""]

    def _call(self, function: str, params: dict, deadline: Deadline) -> dict:
        body = envelope(function, params)
        for attempt in range(2):
            headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f"{RFC_NS}:{xml_name(function)}"}
            if self.csrf:
                headers["X-CSRF-Token"] = self.csrf
            response = self._send("POST", deadline, content=body, headers=headers)
            needs_token = response.status_code == 403 and response.headers.get("x-csrf-token", "").lower() == "required"
            if needs_token and attempt == 0:
                self.logon(deadline)
                continue
            break
        if response.status_code != 200 and b"Fault" not in response.content[:2000]:
            raise self._refused(response)
        return response_values(function, response.content)

    def alive(self) -> bool:
        """HTTP reconnects by itself; a session stays usable until it is closed."""
        return not self.http.is_closed

    def close(self) -> None:
        self.http.close()
