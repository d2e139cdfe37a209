"""Call flow: runs another flow's deployed version as a child execution with its own log.

With ``wait`` (the default) the child runs at once in the same worker thread, as a worker would
run it, and its output becomes the step's output; a child that parks (a delay) parks the parent
until the child is due, and a child that fails fails the step. Without ``wait`` the child is sent
to the workers and the step's output is its id. ``payload`` is an expression (default: the
parent's trigger payload).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from expressions.values import value_of, value_problem
from flows import calls
from flows.kinds.base import Call, Kind, Parked, Report, StepFailed
from flows.leases import lease_seconds
from flows.records import storable

DEFAULT_PAYLOAD = "{{ trigger.payload }}"


class CallFlowKind(Kind):
    key, label = "call_flow", "Call flow"
    retries = False  # a child is started once; its own steps have their policies
    ends_within_timeout = False

    def normalize(self, step: dict) -> None:
        step.setdefault("flow", None)
        step.setdefault("payload", DEFAULT_PAYLOAD)
        step.setdefault("wait", True)

    def check(self, step: dict, report: Report) -> None:
        if isinstance(step["flow"], bool) or not isinstance(step["flow"], int):
            report("flow", "choose the flow to call (by its id).")
        problem = value_problem(step["payload"]) if isinstance(step["payload"], str) else "it must be text"
        if problem:
            report("payload", f"the payload: {problem}.")
        if not isinstance(step["wait"], bool):
            report("wait", "wait must be true or false.")

    def run(self, call: Call) -> Any:
        parent = call.delivery.execution
        where = f"{call.scope}/{call.step['id']}"
        child = calls.child_of(parent, where)
        if child is None:
            payload = storable(value_of(call.step["payload"], call.context, call.deadline.remaining_ms()))
            child = calls.start_child(parent, call.step["flow"], where, payload)
            if not call.step["wait"]:
                from flows.triggers import enqueue  # the triggers module sends to the workers

                enqueue(child.pk)
        if not call.step["wait"]:
            return {"execution_id": child.pk, "status": child.status}
        child = call.delivery.run_child(child.pk)
        if child.status == child.Status.WAITING and child.resume_at is not None:
            raise Parked(child.resume_at, {"waiting_for_execution": child.pk})
        if not child.is_final:  # another delivery runs it: look again once its lease could have lapsed
            raise Parked(timezone.now() + timedelta(seconds=lease_seconds()), {"waiting_for_execution": child.pk})
        if child.status in (child.Status.SUCCEEDED, child.Status.COMPLETED_WITH_ERRORS):
            return child.output
        raise StepFailed(f"The called flow (execution {child.pk}) ended {child.status}: {child.error}")
