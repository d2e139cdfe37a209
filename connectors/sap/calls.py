"""Running an instruction's calls on one session, with the BAPI rules of a step.

1. Each call's parameters are checked and converted (``connectors.sap.values``), then sent, with the
   outputs it selected (``IMPORTING [..] TABLES [..]``; None: all) and the messages parameter as
   ``wanted``: RFC does not fetch the others, and the result keeps only those (``results.selected``),
   so a large table nobody asked for does not count against the step's output cap.
2. Its answer is sorted into the result shape (``connectors.sap.results``); an E or A message
   (or W, when the step treats warnings as errors) fails the step with the message text and number.
3. With the step's ``commit`` option, ``BAPI_TRANSACTION_COMMIT`` (WAIT = X) follows the last
   successful call on the same session, and ``BAPI_TRANSACTION_ROLLBACK`` follows a failed one, so
   a failure leaves nothing half-written. A commit that answers E fails the step as well.

Several calls in one instruction run in order and stop at the first failure; each keeps its own
result (see ``results.combine``). A value that reads an earlier call (``{{ calls.created.export.X }}``)
reaches this module as a marker (``instructions.bapi.chain``) and is evaluated just before its call,
over the results so far, within what is left of the step's deadline; the values it gave are kept in
that call's result as ``chained`` (``{"ORDER_ITEMS_IN[1]-MATERIAL": "M-01"}``), since the step's
recorded parameters show the marker. A failure carries what SAP had answered until then as
``partial_output`` (the same shape), so a flow that ignores the error can still read the messages.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.sap import results, values
from expressions import budgets
from expressions.sandbox import ExpressionError
from instructions.bapi import chain, plain, render

COMMIT = "BAPI_TRANSACTION_COMMIT"
ROLLBACK = "BAPI_TRANSACTION_ROLLBACK"
ROLLBACK_GRACE_MS = 1000  # a rollback may run this long even when the failure used up the step's time


class Session(Protocol):
    def call(self, function: str, params: dict, deadline: Deadline, wanted: set[str] | None = None) -> dict: ...

    def stateful(self) -> AbstractContextManager[None]: ...


def run(session: Session, calls: list[dict], deadline: Deadline, options: dict) -> dict:
    """The step's output; several requests (calls, or a call and its commit) share one ABAP session."""
    if len(calls) > 1 or options.get("commit"):
        with session.stateful():
            return _run(session, calls, deadline, options)
    return _run(session, calls, deadline, options)


def _run(session: Session, calls: list[dict], deadline: Deadline, options: dict) -> dict:
    commit = bool(options.get("commit"))
    strict = bool(options.get("warnings_as_errors"))
    message_parameter = options.get("message_parameter") or results.MESSAGE_PARAMETER
    several = len(calls) > 1
    plain = not several and not any(call.get("alias") for call in calls)
    done: list[dict] = []
    earlier: dict[int | str, dict] = {}  # what a chained value reads as ``calls``: by position and alias
    for position, call in enumerate(calls):
        function = values.checked_name(call.get("function"), "function module")
        alias = call.get("alias") or None
        try:
            sent: dict[str, Any] = {}
            params = values.parameters(_chained(call.get("parameters") or {}, earlier, sent, deadline), function)
            select = call.get("select") or None
            wanted = {name for names in select.values() for name in names} | {message_parameter} if select else None
            returned = session.call(function, params, deadline, wanted)
            answer = results.selected(results.shape(params, returned, message_parameter), select, function)
            result = {"function": function, "alias": alias, **answer, **({"chained": sent} if sent else {})}
            done.append(result)
            earlier[position] = result
            if alias:
                earlier[alias] = result
            bad = results.failing(answer["messages"], warnings_as_errors=strict)
            if bad:
                named = f"{function} ({alias})" if alias else function
                raise results.failure(named, bad, answer["messages"])
        except ConnectorError as exc:
            if done:
                exc.partial_output = results.combine(done, plain=plain)
            if several and not isinstance(exc, results.BapiError):
                exc.args = (f"call {len(done) + 1} of {len(calls)}, {results.label(function, alias)}: {exc}",)
            if commit and not isinstance(exc, StepTimeout):
                exc.args = (exc.args[0] + _rolled_back(session, deadline),)
            raise
    output = results.combine(done, plain=plain)
    if commit:
        answer = results.shape({}, session.call(COMMIT, {"WAIT": "X"}, deadline))
        bad = results.failing(answer["messages"], warnings_as_errors=False)
        if bad:
            error = results.failure(COMMIT, bad, answer["messages"])
            error.partial_output = output
            raise error
        kept = results.tagged(answer["messages"], COMMIT) if "calls" in output else answer["messages"]
        output["messages"].extend(kept)
    return output


def _chained(params: dict, earlier: dict, sent: dict, deadline: Deadline) -> dict:
    """The call's parameters with their chained values evaluated (see the module docstring)."""
    try:
        with budgets.time_budget(deadline.remaining_ms()):
            return chain.resolve(params, {"calls": earlier}, "", sent, plain)
    except ExpressionError as exc:
        raise ConnectorError(f"parameter {exc}") from None


def _rolled_back(session: Session, deadline: Deadline) -> str:
    """What the rollback after a failure answered, as a sentence added to the failure."""
    grace = Deadline(max(deadline.remaining_ms(), ROLLBACK_GRACE_MS))
    try:
        answer = results.shape({}, session.call(ROLLBACK, {}, grace))
    except ConnectorError as exc:
        return f"; the rollback failed too: {exc}"
    bad = results.failing(answer["messages"], warnings_as_errors=False)
    if bad:
        return "; the rollback answered " + "; ".join(results.describe(row) for row in bad)
    return "; the changes were rolled back"


def instruction_calls(text: str, params: dict | None) -> list[dict[str, Any]]:
    """The calls to run: those the renderer produced, or the instruction's own when it holds no ``{{ }}``."""
    if params and isinstance(params.get("calls"), list):
        return params["calls"]

    try:
        return render(text, {}).params["calls"]
    except ExpressionError as exc:
        raise ConnectorError(f"the instruction cannot be run: {exc}") from None
