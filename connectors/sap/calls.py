"""Running an instruction's calls on one session, with the BAPI rules of a step.

1. Each call's parameters are checked and converted (``connectors.sap.values``), then sent.
2. Its answer is sorted into the result shape (``connectors.sap.results``); an E or A message
   (or W, when the step treats warnings as errors) fails the step with the message text and number.
3. With the step's ``commit`` option, ``BAPI_TRANSACTION_COMMIT`` (WAIT = X) follows the last
   successful call on the same session, and ``BAPI_TRANSACTION_ROLLBACK`` follows a failed one, so
   a failure leaves nothing half-written. A commit that answers E fails the step as well.

Several calls in one instruction run in order and stop at the first failure; their results merge
(see ``results.merge``).
"""

from __future__ import annotations

from typing import Any, Protocol

from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from connectors.sap import results, values
from expressions.sandbox import ExpressionError
from instructions.bapi import render

COMMIT = "BAPI_TRANSACTION_COMMIT"
ROLLBACK = "BAPI_TRANSACTION_ROLLBACK"
ROLLBACK_GRACE_MS = 1000  # a rollback may run this long even when the failure used up the step's time


class Session(Protocol):
    def call(self, function: str, params: dict, deadline: Deadline) -> dict: ...


def run(session: Session, calls: list[dict], deadline: Deadline, options: dict) -> dict:
    commit = bool(options.get("commit"))
    strict = bool(options.get("warnings_as_errors"))
    done: list[dict] = []
    for call in calls:
        function = values.checked_name(call.get("function"), "function module")
        params = values.parameters(call.get("parameters") or {}, function)
        try:
            result = results.shape(params, session.call(function, params, deadline))
            bad = results.failing(result["messages"], warnings_as_errors=strict)
            if bad:
                raise results.failure(function, bad, result["messages"])
        except StepTimeout:
            raise
        except ConnectorError as exc:
            if commit:
                exc.args = (exc.args[0] + _rolled_back(session, deadline),)
            raise
        done.append(result)
    merged = results.merge(done)
    if commit:
        answer = results.shape({}, session.call(COMMIT, {"WAIT": "X"}, deadline))
        bad = results.failing(answer["messages"], warnings_as_errors=False)
        if bad:
            raise results.failure(COMMIT, bad, answer["messages"])
        merged["messages"].extend(answer["messages"])
    return merged


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
