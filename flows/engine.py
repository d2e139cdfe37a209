"""Runs one execution of a flow version, step by step, to a final state.

``run(execution_id)`` is what the Celery task calls; it is safe to call again for the same
execution (a redelivery after a worker died) and never runs a finished step twice.

The loop:

1. *Claim* the execution with one conditional UPDATE that also reads it back (``flows.leases``): it
   must be queued, or running with a heartbeat older than the lease (its worker is gone). The
   claim counts a delivery and takes a fresh lease token; a delivery beyond ``MAX_DELIVERIES``
   fails the execution instead of running it, so a poison execution that kills its worker every
   time stops.
2. Load the version's plan (cached per process), the steps already recorded (a resumed execution
   keeps them and their outputs; the first delivery has none to read) and the environment's variables.
3. For each step in topological order that has no StepRun yet: check between steps (at most every
   ``CONTROL_INTERVAL`` seconds; the read after the claim is the first check) that the lease is
   still ours and whether a cancel was requested; render the instruction (its expressions within
   the step's deadline, see ``expressions.budgets``); execute it (a connector step through
   ``connectors.runtime.call`` under the same ``Deadline``, a mapping step with JSONata); store the
   StepRun at once.
4. Ignore Errors decides what a failed or timed-out step means: on, the step is recorded as
   ``error_ignored`` and the flow goes on (ending ``completed_with_errors``); its output, for the
   steps after it and in its record, is ``{"error": message}`` plus whatever the connector had
   produced before failing (``ConnectorError.partial_output``: a BAPI's messages, say), so a later
   step can react to the failure; off, the execution ends ``failed`` right there and no later step runs.
5. Finish with a conditional UPDATE guarded by the lease, then wake waiters (``flows.notify``).

An unexpected error anywhere in the loop (a step record the database refuses, a bug) ends the
execution ``failed`` with that error at once; only a lost database connection is left to the task,
which comes back and resumes.

While an execution runs, a per-process thread refreshes its heartbeat (``flows.leases``), so the
watchdog (``flows.tasks.fail_vanished``) and a redelivery can tell a live worker from a vanished one.
Secrets of the environment are masked in everything recorded (instruction, parameters, output,
error) before ``flows.records`` makes it storable and caps it.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from accounts.models import Variable
from config.logging import log_context
from connectors import runtime
from connectors.catalog.base import ConnectorError, Deadline
from connectors.models import Connector
from core.masking import Masker
from expressions import budgets
from expressions.budgets import OutOfTime
from expressions.mapping import evaluate_mapping
from expressions.properties import properties
from expressions.sandbox import ExpressionError
from flows import graph as graphs
from flows.choices import StepKind
from flows.endings import ended
from flows.leases import claim, heartbeats
from flows.models import Execution, FlowVersion, StepRun
from flows.records import cap_output, journal, storable
from flows.signals import execution_cancelled
from flows.step_names import reference_key
from instructions import Rendered
from instructions.render import render_instruction

logger = logging.getLogger("erpflow.engine")

MAX_DELIVERIES = 3
CONTROL_INTERVAL = 0.5
Status = Execution.Status
StepStatus = StepRun.Status
STOPPING = (StepStatus.FAILED, StepStatus.TIMED_OUT)


def run(execution_id: int) -> Execution:
    """Run or resume the execution; returns it as stored afterwards.

    Returns it unchanged when it is already final, or still running under a live lease held by
    another delivery (the caller may try again later).
    """
    lease = secrets.token_hex(8)
    execution = claim(execution_id, lease)
    if execution is None:
        return Execution.objects.get(pk=execution_id)
    if execution.attempts > MAX_DELIVERIES:
        last = execution.steps.exclude(status=StepStatus.SKIPPED).order_by("-position").first()
        reached = f"the last finished step was '{last.name}'" if last else "no step had finished"
        execution.finish(
            Status.FAILED,
            error=(
                f"Stopped after {MAX_DELIVERIES} deliveries: each time, the worker running this execution "
                f"stopped before it finished ({reached}). Look for a step that crashes or exhausts the worker, "
                "fix it, then replay the execution."
            ),
            lease=lease,
        )
        ended(execution.pk)
        return execution
    context = log_context(execution_id=execution.pk, flow_id=execution.flow_id, correlation_id=execution.correlation_id)
    with heartbeats.beating(execution.pk, lease), context:
        delivery = None
        try:
            delivery = _Run(execution, lease)
            return delivery.run()
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: the task comes back and resumes (flows.tasks)
        except Exception as exc:
            logger.exception("execution %s: unexpected error; failing it", execution.pk)
            return _fail_unexpectedly(execution, lease, delivery, exc)


def _fail_unexpectedly(execution: Execution, lease: str, delivery: _Run | None, exc: Exception) -> Execution:
    """End the execution as failed with the error at once, rather than leave it running until the
    watchdog gives up on its heartbeat minutes later (a step output PostgreSQL's jsonb refuses, a bug)."""
    step = delivery.current if delivery is not None else None
    where = f"Step '{step}' could not be recorded" if step else "The execution stopped on an unexpected error"
    error = f"{where}: {type(exc).__name__}: {exc}"
    masker = delivery.masker if delivery is not None else Masker([])
    if execution.finish(Status.FAILED, error=storable(masker.text(error))[:2000], lease=lease):
        ended(execution.pk)
    else:
        execution.refresh_from_db()
    return execution


def request_cancel(execution: Execution) -> bool:
    """Cancel a queued execution at once, or ask a running one to stop before its next step.

    False when the execution had already reached a final state.
    """
    now = timezone.now()
    queued = Execution.objects.filter(pk=execution.pk, status=Status.QUEUED).update(
        status=Status.CANCELLED, cancel_requested=True, finished=now, error="Cancelled before it started."
    )
    if queued:
        ended(execution.pk)
    running = not queued and Execution.objects.filter(pk=execution.pk, status=Status.RUNNING).update(
        cancel_requested=True
    )
    execution.refresh_from_db()
    if queued or running:
        execution_cancelled.send(sender=Execution, execution=execution)
    return bool(queued or running)


@dataclass(frozen=True)
class _Plan:
    """What a version's graph means for running it: the order and who is upstream of whom."""

    order: list[dict]
    upstream: dict[str, set[str]]
    names: dict[str, str]
    keys: dict[str, str]


_plans: dict[tuple, _Plan] = {}
_plans_lock = threading.Lock()


def _plan(execution: Execution) -> _Plan:
    """The plan of an execution's version, computed once per process: versions never change after
    publishing. The key holds the version's creation time besides its id, so a test database that
    reuses ids never gets another version's plan."""
    key = (execution.version_id, execution.version_created)
    plan = _plans.get(key)
    if plan is None:
        graph = graphs.normalize(FlowVersion.objects.values_list("graph", flat=True).get(pk=execution.version_id))
        order = graphs.order(graph)
        plan = _Plan(
            order=order,
            upstream=graphs.ancestors(graph),
            names={s["id"]: s["name"] for s in order},
            keys={s["id"]: reference_key(s["name"]) for s in order},
        )
        with _plans_lock:
            if len(_plans) >= 512:
                _plans.clear()
            _plans[key] = plan
    return plan


class _Run:
    """The state of one delivery of one execution (see the module docstring for the loop)."""

    def __init__(self, execution: Execution, lease: str):
        self.execution = execution
        self.lease = lease
        plan = _plan(execution)
        self.order, self.upstream, self.names, self.keys = plan.order, plan.upstream, plan.names, plan.keys
        variables = list(Variable.objects.filter(environment_id=execution.environment_id))
        self.env = {v.key: v.plain_value() for v in variables}
        self.masker = Masker([self.env[v.key] for v in variables if v.secret])
        self.trigger = execution.input if isinstance(execution.input, dict) else {}
        self.connectors: dict[int, Any] | None = None
        self.current: str | None = None  # the step being run and recorded, for an unexpected error
        # The execution was read right after the claim: that counts as the first check.
        self.last_control = time.monotonic()
        self.cancel_requested = execution.cancel_requested

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> Execution:
        # Only an earlier delivery can have recorded steps: the first one skips the query.
        first_delivery = self.execution.attempts == 1
        recorded = {} if first_delivery else {r.step_id: r for r in StepRun.objects.filter(execution=self.execution)}
        outputs: dict[str, Any] = {}
        last_output = None
        had_errors = False
        for position, step in enumerate(self.order):
            record = recorded.get(step["id"])
            if record is None:
                stop = self.control()
                if stop == "lost":
                    return self.reread()
                if stop == "cancel":
                    return self.cancel(position)
                self.current = step["name"]
                with log_context(step=step["name"]):
                    record, output = self.run_step(step, position, outputs)
                self.current = None
                if record is None:
                    return self.reread()
            else:
                output = record.output
            if record.status == StepStatus.SKIPPED:
                return self.cancel(position)
            if record.status == StepStatus.SUCCEEDED:
                outputs[step["id"]] = output
                last_output = output
                continue
            # an ignored failure's output is its error (see the module docstring); a stopping one has none
            outputs[step["id"]] = output if record.status == StepStatus.ERROR_IGNORED else None
            if record.status in STOPPING:
                return self.finish(Status.FAILED, error=f"Step '{record.name}' {self.verb(record)}: {record.error}")
            had_errors = True
        final = Status.COMPLETED_WITH_ERRORS if had_errors else Status.SUCCEEDED
        return self.finish(final, output=last_output)

    @staticmethod
    def verb(record: StepRun) -> str:
        return "timed out" if record.status == StepStatus.TIMED_OUT else "failed"

    def control(self) -> str | None:
        """Between steps: 'lost' when another delivery holds the lease, 'cancel' when asked to stop."""
        if self.cancel_requested:
            return "cancel"
        now = time.monotonic()
        if now - self.last_control < CONTROL_INTERVAL:
            return None
        self.last_control = now
        row = Execution.objects.filter(pk=self.execution.pk).values("status", "lease", "cancel_requested").first() or {}
        if row.get("status") != Status.RUNNING or row.get("lease") != self.lease:
            return "lost"
        self.cancel_requested = row["cancel_requested"]
        return "cancel" if self.cancel_requested else None

    def run_step(self, step: dict, position: int, outputs: dict) -> tuple[StepRun | None, Any]:
        started = timezone.now()
        clock = time.perf_counter()
        context = properties(
            env=self.env,
            trigger=self.trigger,
            steps=self.visible_outputs(step["id"], outputs),
            execution_id=self.execution.pk,
            correlation_id=self.execution.correlation_id,
        )
        sent = Rendered(step.get("instruction", ""))
        output, error, status, partial = None, "", StepStatus.SUCCEEDED, None
        try:
            if step["kind"] == StepKind.MAPPING:
                output = evaluate_mapping(step["instruction"], context, step["timeout_ms"])
            else:
                output = self.call_connector(step, context, sent)
        except OutOfTime as exc:
            status, error = StepStatus.TIMED_OUT, str(exc) or f"Timed out after {step['timeout_ms']} ms."
            partial = getattr(exc, "partial_output", None)
        except (ConnectorError, ExpressionError) as exc:
            status, error = StepStatus.FAILED, str(exc)
            partial = getattr(exc, "partial_output", None)
        except Exception as exc:
            logger.exception("execution %s step %s: unexpected error", self.execution.pk, step["id"])
            status, error = StepStatus.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}"
        if status != StepStatus.SUCCEEDED and step["ignore_errors"]:
            if status == StepStatus.TIMED_OUT and "timed out" not in error.lower():
                error = f"Timed out: {error}"
            status = StepStatus.ERROR_IGNORED
            output = {**(partial if isinstance(partial, dict) else {}), "error": error}
        stored, truncated = cap_output(self.masker.value(output))
        finished = timezone.now()
        record = StepRun(
            execution=self.execution,
            position=position,
            step_id=step["id"],
            name=step["name"],
            kind=step["kind"],
            delivery=self.execution.attempts,
            status=status,
            instruction=storable(self.masker.text(sent.text or "")),
            params=storable(self.masker.value(sent.params)),
            output=stored,
            output_truncated=truncated,
            error=storable(self.masker.text(error)),
            started=started,
            finished=finished,
            duration_ms=(time.perf_counter() - clock) * 1000,
        )
        try:
            journal.append(record)
        except IntegrityError:
            logger.warning("execution %s step %s was recorded by another delivery", self.execution.pk, step["id"])
            return None, None
        return record, output

    def call_connector(self, step: dict, context: dict, sent: Rendered) -> Any:
        """Render and call; ``sent`` receives what went to the connector, to be recorded even when it fails."""
        connector = self.connector(step.get("connector"))
        connector_type = connector.connector_type
        deadline = Deadline(step["timeout_ms"])  # rendering the expressions counts against the step's timeout
        with budgets.time_budget(deadline.remaining_ms()):
            rendered = render_instruction(
                connector_type.language,
                connector_type.paramstyle,
                step["instruction"],
                context,
                connector_type.sql_dialect,
            )
        sent.text, sent.params = rendered.text, rendered.params
        return runtime.call(
            connector, self.execution.environment, rendered.text, rendered.params, deadline, step.get("options")
        )

    def connector(self, connector_id):
        if self.connectors is None:
            ids = [s.get("connector") for s in self.order if s["kind"] == StepKind.CONNECTOR]
            found = Connector.objects.filter(organization_id=self.execution.organization_id, pk__in=ids)
            self.connectors = {c.pk: c for c in found}
        connector = self.connectors.get(connector_id)
        if connector is None:
            raise ConnectorError(f"Connector {connector_id} no longer exists in this organization.")
        return connector

    def visible_outputs(self, step_id: str, outputs: dict) -> dict:
        """Outputs of the steps upstream of ``step_id``, by name and by reference key."""
        visible = {}
        for upstream in self.upstream.get(step_id, ()):
            if upstream in outputs:
                visible[self.names[upstream]] = outputs[upstream]
                visible[self.keys[upstream]] = outputs[upstream]
        return visible

    # -- endings ----------------------------------------------------------------------------------

    def cancel(self, position: int) -> Execution:
        now = timezone.now()
        skipped = [
            StepRun(
                execution=self.execution,
                position=index,
                step_id=step["id"],
                name=step["name"],
                kind=step["kind"],
                delivery=self.execution.attempts,
                status=StepStatus.SKIPPED,
                error="Not run: the execution was cancelled.",
                started=now,
                finished=now,
                duration_ms=0,
            )
            for index, step in enumerate(self.order)
            if index >= position
        ]
        StepRun.objects.bulk_create(skipped, ignore_conflicts=True)
        name = self.order[position]["name"] if position < len(self.order) else None
        where = f" before step '{name}'" if name else ""
        return self.finish(Status.CANCELLED, error=f"Cancelled on request{where}.")

    def finish(self, status: str, *, output: Any = None, error: str = "") -> Execution:
        stored, _ = cap_output(self.masker.value(output))
        error = storable(self.masker.text(error))
        if not self.execution.finish(status, output=stored, error=error, lease=self.lease):
            return self.reread()
        logger.debug("execution %s finished %s", self.execution.pk, status)
        ended(self.execution.pk)
        return self.execution

    def reread(self) -> Execution:
        self.execution.refresh_from_db()
        return self.execution
