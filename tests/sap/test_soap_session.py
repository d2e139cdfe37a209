"""One ABAP session for the requests of one instruction over SOAP, proven against a server double.

``StatefulSoapDouble`` (a test double, not SAP) behaves as SAP's RFC SOAP handler does about
sessions: a request runs in a new ABAP session unless it carries the ``sap-contextid`` cookie of a
session opened by ``sap-sessioncmd=open``; so a ``BAPI_TRANSACTION_COMMIT`` without that cookie has
nothing to commit, and the double fails it. mock-sap cannot show this: it keeps one unit of work for
the whole server (every client's BAPIs are committed together) and sets no ``sap-contextid``.
"""

from __future__ import annotations

import itertools
import re
import threading
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from connectors.catalog.base import ConnectorError, Deadline
from connectors.sap import calls, sessions

ANSWER = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<rfc:{name}Response xmlns:rfc="urn:sap-com:document:sap:rfc:functions">{fields}<RETURN/></rfc:{name}Response>'
    "</soapenv:Body></soapenv:Envelope>"
)
FAULT = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    "<soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>{text}</faultstring></soapenv:Fault>"
    "</soapenv:Body></soapenv:Envelope>"
)


class StatefulSoapDouble(ThreadingHTTPServer):
    """The session rules of SAP's SOAP handler (see the module docstring); ``requests`` records
    ``(method, function or None, sap-sessioncmd, context)`` and ``sessions`` each context's functions."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.requests: list[tuple] = []
        self.sessions: dict[str, list[str]] = {}
        self.closed: list[str] = []
        self.ids = itertools.count(1)
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: StatefulSoapDouble

    def log_message(self, *args):  # quiet
        pass

    def _context(self) -> str | None:
        cookie = SimpleCookie(self.headers.get("Cookie") or "")
        return cookie["sap-contextid"].value if "sap-contextid" in cookie else None

    def _reply(self, status: int, body: str, cookie: str | None = None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        if cookie:
            self.send_header("Set-Cookie", f"sap-contextid={cookie}; path=/sap/bc/soap/rfc; HttpOnly")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        command = parse_qs(urlsplit(self.path).query).get("sap-sessioncmd", [None])[0]
        context = self._context()
        with self.server.lock:
            self.server.requests.append(("GET", None, command, context))
            if command == "close" and context:
                self.server.closed.append(context)
        self._reply(200, "")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        function = re.sub(r".*:", "", self.headers.get("SOAPAction") or "")
        command = parse_qs(urlsplit(self.path).query).get("sap-sessioncmd", [None])[0]
        context, new = self._context(), None
        with self.server.lock:
            if context is None and command == "open":
                context = new = f"ctx-{next(self.server.ids)}"
                self.server.sessions[context] = []
            self.server.requests.append(("POST", function, command, context))
            if context in self.server.closed or (context and context not in self.server.sessions):
                return self._reply(500, FAULT.format(text=f"the session {context} is closed"))
            if context is None and function.startswith("BAPI_TRANSACTION_"):
                return self._reply(500, FAULT.format(text="no stateful session: nothing to commit or roll back"))
            if context:
                self.server.sessions[context].append(function)
        fields = "<SALESDOCUMENT>0000004711</SALESDOCUMENT>" if function == "BAPI_CREATE" else ""
        self._reply(200, ANSWER.format(name=function, fields=fields), cookie=new)


@pytest.fixture
def double():
    server = StatefulSoapDouble()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def soap_session(server: StatefulSoapDouble):
    settings = {
        "transport": "soap",
        "soap_url": f"http://127.0.0.1:{server.server_address[1]}/sap/bc/soap/rfc",
        "client": "100",
        "user": "SOAPUSER",
        "passwd": "secret",
    }
    return sessions.open_session(settings, 5)


CREATE_AND_CHANGE = [
    {"function": "BAPI_CREATE", "parameters": {"X": "1"}, "alias": "created"},
    {"function": "BAPI_CHANGE", "parameters": {"DOC": {"$calls": "calls.created.export.SALESDOCUMENT"}}},
]


def test_the_calls_and_the_commit_of_an_instruction_reach_one_abap_session_which_is_closed_after(double):
    session = soap_session(double)
    output = calls.run(session, CREATE_AND_CHANGE, Deadline(5000), {"commit": True})
    assert output["calls"][1]["chained"] == {"DOC": "0000004711"}
    assert double.sessions == {"ctx-1": ["BAPI_CREATE", "BAPI_CHANGE", "BAPI_TRANSACTION_COMMIT"]}
    posts = [(function, command) for method, function, command, _ in double.requests if method == "POST"]
    assert posts == [("BAPI_CREATE", "open"), ("BAPI_CHANGE", None), ("BAPI_TRANSACTION_COMMIT", None)]
    assert double.closed == ["ctx-1"]
    assert "sap-contextid" not in session.http.cookies

    calls.run(session, CREATE_AND_CHANGE[:1], Deadline(5000), {"commit": True})  # the pool lends it again
    assert double.sessions["ctx-2"] == ["BAPI_CREATE", "BAPI_TRANSACTION_COMMIT"]
    session.close()


def test_a_failing_call_is_rolled_back_in_its_own_session(double):
    session = soap_session(double)
    with pytest.raises(ConnectorError, match="call 2 of 2, BAPI_CHANGE: .*the changes were rolled back"):
        calls.run(
            session,
            [
                CREATE_AND_CHANGE[0],
                {"function": "BAPI_CHANGE", "parameters": {"DOC": {"$calls": "calls.created.export.MISSING"}}},
            ],
            Deadline(5000),
            {"commit": True},
        )
    assert double.sessions == {"ctx-1": ["BAPI_CREATE", "BAPI_TRANSACTION_ROLLBACK"]}
    assert double.closed == ["ctx-1"]
    session.close()


def test_one_call_without_commit_stays_stateless(double):
    session = soap_session(double)
    calls.run(session, CREATE_AND_CHANGE[:1], Deadline(5000), {})
    assert [r for r in double.requests if r[0] == "POST"] == [("POST", "BAPI_CREATE", None, None)]
    assert double.closed == []
    session.close()
