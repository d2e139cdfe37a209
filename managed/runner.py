"""Running a managed call: request mapping, the request, the connector call, response mapping.

1. The request mapping (JSONata over ``{payload, env}``) computes ``mapped``; without one it is None.
2. The request (HTTP instruction format) is rendered with ``payload``, ``env`` and ``mapped`` as its
   properties, within the time left of the call's timeout; when it has no body of its own,
   ``mapped`` is sent as the JSON body.
3. ``connectors.runtime.call`` sends it through the connector's pool, under its concurrency limit,
   inside the call's timeout; a 4xx or 5xx answer is a failure.
4. The response mapping (JSONata over ``{status, headers, body, payload}``) computes the answer's
   ``data``; without one, ``data`` is the response body.

Every failure is a ``CallFailed`` naming the stage, with the environment's secrets masked.
"""

from __future__ import annotations

from typing import Any

from accounts.models import Variable
from connectors import runtime
from connectors.catalog.base import ConnectorError, Deadline, StepTimeout
from core.masking import Masker
from expressions import budgets
from expressions.budgets import OutOfTime
from expressions.mapping import evaluate_mapping
from expressions.sandbox import ExpressionError
from instructions.render import render_instruction

OPTIONS = {"fail_on_error_status": True, "retries": 0, "response_mapping": ""}


class CallFailed(Exception):
    """A stage of the call failed; ``stage`` is request_mapping, request, call or response_mapping."""

    def __init__(self, stage: str, message: str, *, timed_out: bool = False):
        super().__init__(message)
        self.stage, self.message, self.timed_out = stage, message, timed_out


def execute(call, payload: Any, environment=None) -> Any:
    environment = environment or call.environment
    variables = list(Variable.objects.filter(environment=environment))
    env = {v.key: v.plain_value() for v in variables}
    masker = Masker([env[v.key] for v in variables if v.secret])
    deadline = Deadline(call.timeout_ms)
    try:
        return masker.value(_run(call, payload, environment, env, deadline))
    except CallFailed as failed:
        failed.message = masker.text(failed.message)
        raise


def _run(call, payload: Any, environment, env: dict, deadline: Deadline) -> Any:
    mapped = None
    if call.request_mapping.strip():
        mapped = _apply_mapping("request_mapping", call.request_mapping, {"payload": payload, "env": env}, deadline)
    try:
        properties = {"payload": payload, "env": env, "mapped": mapped}
        with budgets.time_budget(deadline.remaining_ms()):
            rendered = render_instruction("http", None, call.request, properties)
    except ExpressionError as exc:
        raise CallFailed("request", str(exc)) from None
    params = dict(rendered.params)
    if params.get("body_format") is None and mapped is not None:
        params["body"], params["body_format"] = mapped, "json"
    try:
        response = runtime.call(call.connector, environment, rendered.text, params, deadline, OPTIONS)
    except StepTimeout as exc:
        raise CallFailed("call", str(exc), timed_out=True) from None
    except ConnectorError as exc:
        raise CallFailed("call", str(exc)) from None
    if not call.response_mapping.strip():
        return response["body"]
    return _apply_mapping("response_mapping", call.response_mapping, {**response, "payload": payload}, deadline)


def _apply_mapping(stage: str, expression: str, data: dict, deadline: Deadline) -> Any:
    try:
        return evaluate_mapping(expression, data, max(1, deadline.remaining_ms()))
    except OutOfTime as exc:
        raise CallFailed(stage, str(exc), timed_out=True) from None
    except ExpressionError as exc:
        raise CallFailed(stage, str(exc)) from None
    except Exception as exc:  # jsonata-python lets some evaluation errors out as plain exceptions
        raise CallFailed(stage, f"The mapping failed: {type(exc).__name__}: {exc}") from None
