"""RFC through the pyrfc API: ``Connection(**params)``, ``.call(name, **parameters)``, ``.cancel()``.

Either SAP's PyRFC (which needs SAP's NW RFC SDK) or erpl-pyrfc (a drop-in without the SDK,
the ``sap`` extra) provides the ``pyrfc`` module; it is imported only when a connection opens,
so the catalog lists the type where neither is installed and using it names the extra.

The deadline is enforced with the library's cancel: a timer cancels the connection when the
step's time runs out, the call returns with an error, and the step times out. A cancelled
connection is unusable afterwards, so the pool drops it.

Before a function's first call, its interface is read with ``get_function_description`` and kept
in the pool's ``interfaces`` (one entry per function for the pool's life, which ends when the
connector's settings change), so each value is sent as its ABAP type (``connectors.sap.rfctypes``).
A system that refuses the metadata call (no authorization for it) gets the values untyped, as
written, and the function's own call says what is wrong with them.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from connectors.catalog.base import CONNECTION, ConnectorError, Deadline, DriverMissing, StepTimeout
from connectors.sap import logon, rfctypes
from connectors.sap.network import egress_policy, first_hop

EXTRA = "sap"


def load() -> Any:
    """The ``pyrfc`` module; DriverMissing naming the extra when no provider is installed."""
    try:
        import pyrfc  # optional driver, imported on first use: erpflow runs without its extra
    except ImportError:
        raise DriverMissing(
            "The RFC transport needs the pyrfc API: install erpflow's 'sap' extra "
            f"(pip install 'erpflow[{EXTRA}]', which brings erpl-pyrfc) or SAP's PyRFC with the NW RFC SDK."
        ) from None
    return pyrfc


def connection_params(settings: dict) -> dict:
    """pyrfc's logon parameters: a fixed application server or load-balanced logon, SAProuter, gateway."""
    params: dict[str, str] = {
        "client": settings["client"],
        "user": settings["user"],
        "passwd": settings.get("passwd") or "",
        "lang": settings.get("lang") or "EN",
    }
    if settings.get("mshost"):
        params.update(mshost=settings["mshost"], sysid=settings.get("sysid") or "", group=settings.get("group") or "")
        if settings.get("msserv"):
            params["msserv"] = settings["msserv"]
    else:
        params.update(ashost=settings.get("ashost") or "", sysnr=settings.get("sysnr") or "")
    for name in ("saprouter", "gwhost", "gwserv"):
        if settings.get(name):
            params[name] = settings[name]
    return params


def describe_error(exc: Exception) -> str:
    """The library's error as one line a person can act on (pyrfc's ``key`` and ``message`` where present)."""
    key = getattr(exc, "key", "") or ""
    message = getattr(exc, "message", "") or str(exc) or type(exc).__name__
    first = " ".join(str(message).split())[:400]
    return f"{key}: {first}" if key and key not in first else first


def classify(exc: Exception, pyrfc: Any) -> str:
    """ "logon", "communication", "abap" or "rfc", from pyrfc's exception classes."""
    if isinstance(exc, pyrfc.LogonError):
        return "logon"
    if isinstance(exc, pyrfc.CommunicationError):
        return "communication"
    if isinstance(exc, pyrfc.ABAPApplicationError):
        return "abap"
    return "rfc"


class RfcSession:
    """One logged-on RFC connection, lent by the pool to one call at a time."""

    def __init__(self, settings: dict, interfaces: dict[str, dict | None] | None = None):
        self.pyrfc = load()
        # function name -> its parameters' types (None: not readable); shared by the pool's sessions
        self.interfaces = {} if interfaces is None else interfaces
        host, port, _ = first_hop(settings)
        # The library connects by name itself; the check keeps refused hosts out (a DNS answer that
        # changes between this check and the library's lookup is the one gap, as for Oracle over TCPS).
        egress_policy(settings).check_host(host, port)
        try:
            self.conn = self.pyrfc.Connection(**connection_params(settings))
        except self.pyrfc.RFCError as exc:
            kind = classify(exc, self.pyrfc)
            if kind == "logon":
                words = logon.in_words(describe_error(exc), user=settings["user"], client=settings["client"])
                raise ConnectorError(f"the SAP logon failed: {words}") from None
            raise ConnectorError(
                f"the SAP system cannot be reached: {describe_error(exc)}", failure=CONNECTION
            ) from None

    def call(self, function: str, params: dict, deadline: Deadline, wanted: set[str] | None = None) -> dict:
        """The function's answer; with ``wanted``, the other outputs the interface names are not fetched
        (pyrfc's ``options={"not_requested": [...]}``)."""
        left = deadline.remaining()
        if left <= 0:
            raise StepTimeout("the step's timeout ran out before the SAP call could start")
        timer = threading.Timer(left, self._cancel)
        timer.daemon = True
        timer.start()
        try:
            specs = self.interface(function)
            typed = rfctypes.convert(specs, params, function)
            skipped = rfctypes.not_requested(specs, wanted, typed) if wanted else []
            options = {"options": {"not_requested": skipped}} if skipped else {}
            return rfctypes.answered(dict(self.conn.call(function, **options, **typed)))
        except self.pyrfc.RFCError as exc:
            if deadline.expired:
                raise StepTimeout(
                    f"{function} was still running when the step's timeout ran out ({deadline.timeout_ms} ms); "
                    "the RFC call was cancelled"
                ) from None
            kind = classify(exc, self.pyrfc)
            if kind == "abap":
                raise ConnectorError(f"{function} raised an ABAP exception: {describe_error(exc)}") from None
            if kind == "communication":
                raise ConnectorError(
                    f"the connection to SAP broke during {function}: {describe_error(exc)}", failure=CONNECTION
                ) from None
            raise ConnectorError(f"{function} failed: {describe_error(exc)}") from None
        finally:
            timer.cancel()

    def stateful(self) -> contextlib.AbstractContextManager[None]:
        """An RFC connection is one ABAP session already: its calls and the commit share it."""
        return contextlib.nullcontext()

    def interface(self, function: str) -> dict:
        """The function's parameter types, read once per pool; {} when the system will not describe it
        (a missing function or authorization: its call then answers for itself). A broken connection
        raises, as the call would."""
        if function not in self.interfaces:
            try:
                described = rfctypes.interface(self.conn.get_function_description(function))
            except self.pyrfc.RFCError as exc:
                if classify(exc, self.pyrfc) == "communication":
                    raise
                described = None
            self.interfaces[function] = described
        return self.interfaces[function] or {}

    def _cancel(self) -> None:
        with contextlib.suppress(Exception):  # the call is ending anyway; its own error says what happened
            self.conn.cancel()

    def alive(self) -> bool:
        self.conn.ping()
        return True

    def close(self) -> None:
        self.conn.close()
