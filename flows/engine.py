"""Runs one execution of a flow version, step by step, to a final state.

``run(execution_id)`` is what the Celery task calls; it is safe to call again for the same
execution (a redelivery after a worker died, a parked execution coming back) and never runs a
finished step twice.

The loop:

1. *Claim* the execution with one conditional UPDATE that also reads it back (``flows.leases``): it
   must be queued, running with a heartbeat older than the lease (its worker is gone), or waiting
   and due. The claim takes a fresh lease token and counts a delivery; a delivery beyond
   ``MAX_DELIVERIES`` fails the execution instead of running it, so a poison execution that kills
   its worker every time stops.
2. Load the version's plan (``flows.plans``, cached per process), the steps already recorded (a
   resumed execution keeps them and their outputs; a first delivery has none to read) and the
   environment's variables (``accounts.variable_cache``: read at most once a second per process).
3. Walk the steps in run order (``run_group``). A step already finished is taken from its record; a
   step none of whose parents reached it (a router took another branch) is recorded ``skipped``
   with the reason (``flows.routes``); any other step runs: check between steps (at most every
   ``CONTROL_INTERVAL`` seconds) that the lease is still ours and whether a cancel was requested,
   then run it through its kind (``flows.kinds``) under a ``Deadline`` and record it (see "Step
   records" below). A for-each runs its body's steps the same way, per item, in a scope of their
   own (``flows.items``).
4. A failed attempt is tried again as the step's retry policy says (``flows.retries``): each
   attempt is recorded; a short wait sleeps, a long one parks the execution (``flows.parking``), as
   does a delay. After the last attempt, Ignore Errors decides: on, the step is recorded as
   ``error_ignored`` and the flow goes on (ending ``completed_with_errors``); its output, for the
   steps after it and in its record, is ``{"error": message}`` plus whatever the connector had
   produced before failing; off, the execution ends ``failed`` right there.
5. Finish with a conditional UPDATE guarded by the lease, in the same statement as the records still
   held, then announce the ending (``flows.endings``).

Step records. A record is written before the next step runs, except that it may wait in memory for
the delivery's next write (``_Run.may_hold``), which then stores it with the others in one round
trip (``flows.records.journal``):

- the record of a skip, and of a *pure* step (``Kind.pure``: mapping, condition, for-each; its
  attempt changes nothing outside erpflow) that ran in less than ``HOLD_BELOW_MS``, waits
  *guarded*: it is stored only while this delivery still holds the lease. A worker that dies
  loses these records, and the next delivery runs those steps again, which does no harm;
- the final record of a top-level step after which the finish comes with no step in between (the
  flow's last step, or one that fails the flow), whatever its kind, waits for the finish, not
  guarded: written in the finish's statement, it is stored as a record written at once would be,
  even when the lease was lost;
- every other record (a connector, sync, call-flow, respond or delay step, one inside a for-each,
  a retried attempt, a parked delay) is written at once, with the records held before it.

The next write is whichever comes first: the start of a step that is not pure (nothing waits while
a step that can act outside erpflow runs), a record written at once, a pure step still evaluating
``CONTROL_INTERVAL`` seconds after it started (``expressions.budgets.checkpoint``), the check
between steps (at most every ``CONTROL_INTERVAL`` seconds), the ``MAX_HELD``-th record held, a
park, a hand-over, the cancel or the finish. So a record waits about ``CONTROL_INTERVAL`` at most.
The finish stores them in its own statement (both or, when the lease was lost, only the records
not guarded). A delivery that lost its lease writes none of the guarded records it held.
``recorded`` receives each record once it is stored, in the order held.

An unexpected error anywhere in the loop (a step record the database refuses, a bug) ends the
execution ``failed`` with that error at once; only a lost database connection is left to the task,
which comes back and resumes.

While an execution runs, a per-process thread refreshes its heartbeat (``flows.leases``), so the
watchdog (``flows.tasks.fail_vanished``) and a redelivery can tell a live worker from a vanished one.
Secrets of the environment are masked in everything recorded (instruction, parameters, output,
error) before ``flows.records`` makes it storable and caps it.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from accounts import variable_cache
from config.logging import log_context
from connectors import lookups as connector_lookups
from connectors.catalog.base import ConnectorError, Deadline
from core.masking import Masker
from expressions import budgets
from expressions.budgets import OutOfTime
from expressions.properties import properties
from expressions.sandbox import ExpressionError
from flows import items, parking, retries, routes
from flows.endings import ended
from flows.kinds import KINDS
from flows.kinds.base import Call, Parked, StepFailed
from flows.leases import claim, heartbeats
from flows.models import Execution, StepRun
from flows.notify import publish_finished
from flows.plans import TOP, plan_of
from flows.records import cap_output, journal, new_record, storable
from flows.signals import execution_cancelled
from instructions import Rendered

logger = logging.getLogger("erpflow.engine")

MAX_DELIVERIES = 3
CONTROL_INTERVAL = 0.5
MAX_HELD = 100  # records held in memory at most; one more writes them
HOLD_BELOW_MS = 20  # only the record of a step quicker than this is held (see ``_Run.may_hold``)
Status = Execution.Status
StepStatus = StepRun.Status
STOPPING = (StepStatus.FAILED, StepStatus.TIMED_OUT)
FAILURES = (ConnectorError, ExpressionError, StepFailed)


def run(
    execution_id: int,
    *,
    claimed: Execution | None = None,
    hand_over: Callable[[], bool] | None = None,
    recorded: list[StepRun] | None = None,
) -> Execution:
    """Run or resume the execution; returns it as stored afterwards.

    Returns it unchanged when it is already final, waiting and not yet due, or still running under
    a live lease held by another delivery (the caller may try again later).

    ``claimed`` is an execution its caller created already claimed (``flows.eager``): it is run under
    its lease without a claim. ``hand_over``, asked between steps, stops the delivery there when it
    answers True; the execution is returned still running under its lease, for the caller to release.
    ``recorded`` gets every step record this delivery stores, in order: a caller that ran the whole
    execution (``flows.eager``) answers with them instead of reading them back.
    """
    lease = claimed.lease if claimed is not None else secrets.token_hex(8)
    execution = claimed if claimed is not None else claim(execution_id, lease)
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
        ended(execution.pk, execution)
        return execution
    context = log_context(execution_id=execution.pk, flow_id=execution.flow_id, correlation_id=execution.correlation_id)
    with heartbeats.beating(execution.pk, lease), context:
        delivery = None
        try:
            delivery = _Run(execution, lease, hand_over, recorded)
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
    if delivery is not None:
        delivery.write_held_quietly()
    if execution.finish(Status.FAILED, error=storable(masker.text(error))[:2000], lease=lease):
        ended(execution.pk, execution)
    else:
        execution.refresh_from_db()
    return execution


def request_cancel(execution: Execution) -> bool:
    """Cancel a queued or waiting execution at once, or ask a running one to stop before its next step.

    False when the execution had already reached a final state.
    """
    now = timezone.now()
    at_once = Execution.objects.filter(pk=execution.pk, status__in=(Status.QUEUED, Status.WAITING)).update(
        status=Status.CANCELLED, cancel_requested=True, finished=now, lease="", error="Cancelled before it finished."
    )
    if at_once:
        ended(execution.pk)
    running = not at_once and Execution.objects.filter(pk=execution.pk, status=Status.RUNNING).update(
        cancel_requested=True
    )
    execution.refresh_from_db()
    if at_once or running:
        execution_cancelled.send(sender=Execution, execution=execution)
    return bool(at_once or running)


@dataclass
class Outcome:
    """How a group of steps ended: ``done`` (with its last output) or ``failed`` (with the error)."""

    status: str
    output: Any = None
    had_errors: bool = False
    error: str = ""


class Interrupted(Exception):  # noqa: N818 - control flow, raised through the kinds to ``_Run.run``
    """The delivery stops here: ``lost`` (another delivery holds the execution), ``parked`` (it waits
    in the database) or ``cancel`` (asked to stop before the step at ``position``)."""

    def __init__(self, reason: str, position: int = 0):
        super().__init__(reason)
        self.reason = reason
        self.position = position


class _Run:
    """The state of one delivery of one execution (see the module docstring for the loop)."""

    def __init__(
        self,
        execution: Execution,
        lease: str,
        hand_over: Callable[[], bool] | None = None,
        recorded: list[StepRun] | None = None,
    ):
        self.execution = execution
        self.lease = lease
        self.hand_over = hand_over
        self.plan = plan_of(execution.version_id, execution.version_created)
        variables = variable_cache.of(execution.environment_id)
        self.env = dict(variables.values)  # this delivery's own: the cached one is shared by the process
        self.masker = variables.masker
        self.trigger = execution.input if isinstance(execution.input, dict) else {}
        # What every step's expressions see besides the outputs of its upstream steps, built once.
        self.properties = properties(
            env=self.env,
            trigger=self.trigger,
            steps={},
            execution_id=execution.pk,
            correlation_id=execution.correlation_id,
        )
        self.connectors: dict[int, Any] | None = None
        self.current: str | None = None  # the step being run and recorded, for an unexpected error
        self.records: dict[tuple[str, str], StepRun] = {}  # the latest record of each step in each scope
        self.recorded = recorded if recorded is not None else []  # every record this delivery stored
        self.held: list[tuple[StepRun, bool]] = []  # records not written yet, and whether guarded (``store``)
        self.held_lock = threading.Lock()  # the items of a for-each run in several threads
        self.last_step = self.plan.groups[TOP][-1]["id"] if self.plan.groups[TOP] else None
        self.control_lock = threading.Lock()
        # The execution was read right after the claim: that counts as the first check.
        self.last_control = time.monotonic()
        self.cancel_requested = execution.cancel_requested

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> Execution:
        # Only an earlier delivery, or a delivery before the execution parked, can have recorded steps.
        if self.execution.attempts > 1 or self.execution.resume_at is not None:
            for record in StepRun.objects.filter(execution=self.execution).order_by("attempt"):
                self.records[(record.scope, record.step_id)] = record
        try:
            outcome = self.run_group(TOP, "", None, {}, {})
        except Interrupted as stop:
            if stop.reason == "cancel":
                return self.cancel(stop.position)
            if stop.reason == "handover":  # the caller releases it: what ran must be stored first
                with contextlib.suppress(Interrupted):  # lost meanwhile: the caller's release fails as well
                    self.write_held()
            return self.reread()
        if outcome.status == "failed":
            return self.finish(Status.FAILED, error=outcome.error)
        final = Status.COMPLETED_WITH_ERRORS if outcome.had_errors else Status.SUCCEEDED
        return self.finish(final, output=outcome.output)

    def run_group(self, group: str | None, scope: str, item: int | None, outputs: dict, extra: dict) -> Outcome:
        """Run the steps of one group (the flow, or one item of a for-each) in ``scope``."""
        ran: dict[str, bool] = {}
        taken: dict[str, list[str] | None] = {}
        last_output, had_errors = None, False
        for step in self.plan.groups.get(group, []):
            sid = step["id"]
            record = self.records.get((scope, sid))
            output = record.output if record is not None else None
            if record is None or record.status not in StepRun.FINISHED:
                reason = (
                    None
                    if record is not None
                    else routes.skip_reason(self.plan.incoming[sid], ran, taken, self.plan.names)
                )
                if reason:
                    record = self.skip(step, scope, item, reason)
                else:
                    self.check_control(self.plan.positions[sid])
                    self.current = step["name"]
                    with log_context(step=step["name"]):
                        record, output = self.run_step(step, scope, item, outputs, extra, record)
                    self.current = None
            if record.status == StepStatus.SKIPPED:
                ran[sid] = False
                continue
            ran[sid] = True
            if record.status in STOPPING:
                verb = "timed out" if record.status == StepStatus.TIMED_OUT else "failed"
                return Outcome("failed", error=f"Step '{record.name}' {verb}: {record.error}")
            kind = KINDS[step["kind"]]
            if kind.routes:
                taken[sid] = (output or {}).get("taken", []) if record.status == StepStatus.SUCCEEDED else []
            if record.status == StepStatus.ERROR_IGNORED or record.error:
                had_errors = True
            outputs[sid] = output
            if record.status == StepStatus.SUCCEEDED:  # an ignored failure's output is no result
                last_output = output
        return Outcome("done", output=last_output, had_errors=had_errors)

    def check_control(self, position: int) -> None:
        stop = self.control()
        if stop is not None:
            raise Interrupted(stop, position)

    def control(self) -> str | None:
        """Between steps: 'lost' when another delivery holds the lease, 'cancel' when asked to stop,
        'handover' when the caller wants the rest run elsewhere."""
        if self.cancel_requested:
            return "cancel"
        if self.hand_over is not None and self.hand_over():
            return "handover"
        with self.control_lock:
            now = time.monotonic()
            if now - self.last_control < CONTROL_INTERVAL:
                return None
            self.last_control = now
        try:
            self.write_held()  # records held wait at most this long
        except Interrupted:
            return "lost"
        row = Execution.objects.filter(pk=self.execution.pk).values("status", "lease", "cancel_requested").first()
        row = row or {}
        if row.get("status") != Status.RUNNING or row.get("lease") != self.lease:
            return "lost"
        self.cancel_requested = row["cancel_requested"]
        return "cancel" if self.cancel_requested else None

    # -- one step ---------------------------------------------------------------------------------

    def run_step(self, step: dict, scope: str, item: int | None, outputs: dict, extra: dict, earlier: StepRun | None):
        """Run the step's attempts and record each; returns its final record and output."""
        kind = KINDS[step["kind"]]
        policy = retries.policy_of(step) if kind.retries else None
        attempt = 1
        if earlier is not None and earlier.status == StepStatus.RETRYING:
            attempt = earlier.attempt + 1
            self.wait_until(earlier.finished + timedelta(milliseconds=earlier.wait_ms or 0))
        context = {**self.properties, "steps": self.visible_outputs(step["id"], outputs), **extra}
        waiting = earlier if earlier is not None and earlier.status == StepStatus.WAITING else None
        if not kind.pure:
            self.write_held()  # nothing waits while a step that can act outside erpflow runs
        while True:
            started, clock = timezone.now(), time.perf_counter()
            call = Call(
                step=step,
                context=context,
                deadline=Deadline(step["timeout_ms"]),
                delivery=self,
                scope=scope,
                earlier=waiting,
                branches=self.plan.branches.get(step["id"], []),
                outputs=outputs,  # read only: an item of a for-each copies it (flows.items)
                sent=Rendered(step.get("instruction", "")),  # a connector replaces it with what it sent
            )
            output, error, status, failure = None, "", StepStatus.SUCCEEDED, None
            try:
                if kind.pure:  # one that runs long stores the records held before it, from its expressions
                    with budgets.checkpoint(CONTROL_INTERVAL, self.write_held_in_passing):
                        output = kind.run(call)
                else:
                    output = kind.run(call)
            except Parked as parked:
                record = self.record(
                    step, scope, item, attempt, StepStatus.WAITING, call, started, clock, parked.output
                )
                self.store(record, replacing=waiting)
                self.park(parked.until)
            except OutOfTime as exc:
                status, error, failure = StepStatus.TIMED_OUT, self.timed_out(step, exc), exc
            except FAILURES as exc:
                status, error, failure = StepStatus.FAILED, str(exc), exc
            except Interrupted:
                raise
            except Exception as exc:
                logger.exception("execution %s step %s: unexpected error", self.execution.pk, step["id"])
                status, error = StepStatus.FAILED, f"Unexpected error: {type(exc).__name__}: {exc}"
            if failure is not None:
                wait = retries.wait_before_next(policy, attempt, failure)
                if wait is not None:
                    record = self.record(step, scope, item, attempt, StepStatus.RETRYING, call, started, clock, None)
                    record.error, record.wait_ms = storable(self.masker.text(error)), wait * 1000
                    self.store(record, replacing=waiting)
                    waiting = None
                    attempt += 1
                    self.wait_until(timezone.now() + timedelta(seconds=wait))
                    self.check_control(self.plan.positions[step["id"]])
                    continue
            if status != StepStatus.SUCCEEDED and step["ignore_errors"]:
                if status == StepStatus.TIMED_OUT and "timed out" not in error.lower():
                    error = f"Timed out: {error}"
                status = StepStatus.ERROR_IGNORED
                partial = getattr(failure, "partial_output", None)
                output = {**(partial if isinstance(partial, dict) else {}), "error": error}
            record = self.record(step, scope, item, attempt, status, call, started, clock, output)
            record.error = storable(self.masker.text(error or call.note))
            self.store(record, replacing=waiting)
            return record, output

    @staticmethod
    def timed_out(step: dict, exc: OutOfTime) -> str:
        """The error of a step past its timeout, always naming the timeout it had."""
        limit = f"Timed out after {step['timeout_ms']} ms"
        message = str(exc)
        if not message:
            return f"{limit}."
        return message if f"{step['timeout_ms']} ms" in message else f"{limit}: {message}"

    def record(self, step, scope, item, attempt, status, call: Call, started, clock, output) -> StepRun:
        stored, truncated = cap_output(self.masker.value(output))
        return self.step_run(
            step,
            scope,
            item,
            status,
            attempt=attempt,
            instruction=storable(self.masker.text(call.sent.text or "")),
            params=storable(self.masker.value(call.sent.params)),
            output=stored,
            output_truncated=truncated,
            started=started,
            finished=timezone.now(),
            duration_ms=(time.perf_counter() - clock) * 1000,
        )

    def store(self, record: StepRun, *, replacing: StepRun | None = None) -> None:
        """Record the step: held in memory when that loses nothing (``may_hold``), else written at once
        with the records held before it; a parked delay's record is completed in place."""
        self.records[(record.scope, record.step_id)] = record
        if replacing is None and (hold := self.may_hold(record)) is not None:
            self.hold(record, guarded=hold)
            return
        if replacing is None:
            self.write_held(record)
            return
        self.write_held()
        fields = [f.attname for f in StepRun._meta.concrete_fields if f.attname not in ("id", "execution_id")]
        values = {name: getattr(record, name) for name in fields}
        try:
            if not StepRun.objects.filter(pk=replacing.pk, status=StepStatus.WAITING).update(**values):
                raise IntegrityError("recorded by another delivery")
        except IntegrityError:
            logger.warning("execution %s step %s was recorded by another delivery", self.execution.pk, record.step_id)
            raise Interrupted("lost") from None
        record.pk = replacing.pk
        self.recorded.append(record)  # a record it replaces is one an earlier delivery stored

    def may_hold(self, record: StepRun) -> bool | None:
        """Whether the record may wait in memory for the delivery's next write: None when it is written
        at once, else whether it is then guarded (stored only while this delivery holds the lease).

        A skip's record, and the record of a pure step (``Kind.pure``: running it again after a crash
        does no harm) that ran in less than ``HOLD_BELOW_MS``, wait, guarded: a delivery that lost the
        lease recomputes nothing wrong by leaving them out, and the one that holds it now would find
        them in its way. A slower step's record is written at once: the round trip saved is small
        next to the step, and its work is not redone after a crash. The final record of a step
        outside every for-each after which the finish comes with no step in between (the flow's
        last step, or one that failed it) waits for the finish, unguarded, whatever its kind: a
        record written at once is stored even by a delivery that lost its lease, as it tells what
        happened."""
        if record.status == StepStatus.SKIPPED or (KINDS[record.kind].pure and record.duration_ms < HOLD_BELOW_MS):
            return True
        if record.scope:
            return None
        if record.status in STOPPING or (record.step_id == self.last_step and record.status in StepRun.FINISHED):
            return False
        return None

    def hold(self, record: StepRun, *, guarded: bool) -> None:
        with self.held_lock:
            self.held.append((record, guarded))
            full = len(self.held) >= MAX_HELD
        if full:
            self.write_held()

    def write_held(self, record: StepRun | None = None) -> None:
        """Write the records held, and ``record`` (not guarded) after them, in one round trip;
        ``Interrupted("lost")`` when this delivery no longer holds the execution."""
        with self.held_lock:
            batch, self.held = self.held, []
        if record is not None:
            batch.append((record, False))
        if batch:
            self.write(batch)

    def write(self, batch: list[tuple[StepRun, bool]]) -> None:
        """Store ``batch`` (records, and whether each is guarded) in one round trip; when the database
        refuses a value, the records are written one at a time, so that the error names the step whose
        record it refused (``_fail_unexpectedly``)."""
        records, guarded = [r for r, _ in batch], [g for _, g in batch]
        try:
            held = journal.write(records, guarded, self.execution.pk, self.lease)
        except IntegrityError:
            logger.warning("execution %s: a step was recorded by another delivery", self.execution.pk)
            raise Interrupted("lost") from None
        except (OperationalError, InterfaceError):
            raise
        except (DatabaseError, TypeError, ValueError):  # refused by the database, or not JSON
            if len(batch) == 1:
                self.current = records[0].name
                raise
            for one in batch:
                self.write([one])
            return
        self.stored(batch, held)
        if not held:
            raise Interrupted("lost")

    def stored(self, batch: list[tuple[StepRun, bool]], held: bool) -> None:
        """Note in ``recorded`` what a write stored: all of ``batch``, or (the lease lost) what was not guarded."""
        self.recorded.extend(record for record, guarded in batch if held or not guarded)

    def write_held_in_passing(self) -> None:
        """From a pure step still evaluating ``CONTROL_INTERVAL`` after it started (``budgets.checkpoint``):
        store the records held, as the check between steps would. A lost lease is left to that check."""
        try:
            self.write_held()
        except Interrupted:
            pass
        except Exception as exc:  # never into the expression being evaluated
            logger.warning("execution %s: held step records not stored: %s", self.execution.pk, type(exc).__name__)

    def write_held_quietly(self) -> None:
        """Before failing the execution on an unexpected error: store what ran, if the database takes it."""
        try:
            self.write_held()
        except Exception as exc:  # the execution fails anyway; its error says why
            logger.warning("execution %s: held step records not stored: %s", self.execution.pk, type(exc).__name__)

    def step_run(self, step: dict, scope: str, item: int | None, status: str, **fields) -> StepRun:
        """A record of ``step`` by this delivery; ``fields`` say what it did."""
        return new_record(
            self.execution,
            {
                "position": self.plan.positions[step["id"]],
                "scope": scope,
                "item": item,
                "step_id": step["id"],
                "name": step["name"],
                "kind": step["kind"],
                "delivery": self.execution.attempts,
                "status": status,
                **fields,
            },
        )

    def not_run(self, step: dict, scope: str, item: int | None, reason: str) -> StepRun:
        """A record of a step that did not run: skipped on a branch not taken, or cancelled."""
        now = timezone.now()
        return self.step_run(
            step, scope, item, StepStatus.SKIPPED, error=storable(reason), started=now, finished=now, duration_ms=0
        )

    def skip(self, step: dict, scope: str, item: int | None, reason: str) -> StepRun:
        record = self.not_run(step, scope, item, reason)
        self.store(record)
        return record

    def visible_outputs(self, step_id: str, outputs: dict) -> dict:
        """Outputs of the steps upstream of ``step_id``, by name and by reference key."""
        visible = {}
        for upstream in self.plan.upstream.get(step_id, ()):
            if upstream in outputs:
                visible[self.plan.names[upstream]] = outputs[upstream]
                visible[self.plan.keys[upstream]] = outputs[upstream]
        return visible

    # -- what kinds ask of the delivery (flows.kinds.base.Delivery) -------------------------------

    def connector(self, connector_id):
        if self.connectors is None:
            ids = [s.get("connector") for s in self.plan.order if s.get("connector") is not None]
            self.connectors = connector_lookups.of_organization(self.execution.organization_id, ids)
        connector = self.connectors.get(connector_id)
        if connector is None:
            raise ConnectorError(f"Connector {connector_id} no longer exists in this organization.")
        return connector

    def run_body(self, call: Call, batches: list, context_of) -> list:
        return items.run(self, call, batches, context_of)

    def note_progress(self, step: dict, batches: int) -> None:
        """How many batches a for-each's list gave, for the progress the execution page shows."""
        body = len(self.plan.groups.get(step["id"], []))
        progress = {**(self.execution.progress or {}), step["id"]: {"batches": batches, "body_steps": body}}
        Execution.objects.filter(pk=self.execution.pk).update(progress=progress)
        self.execution.progress = progress

    def run_child(self, execution_id: int) -> Execution:
        return run(execution_id)

    def respond(self, response: dict) -> bool:
        """Answer a waiting caller now; only the first response of an execution is the answer."""
        stored = storable(self.masker.value(response))
        answered = Execution.objects.filter(pk=self.execution.pk, response__isnull=True).update(response=stored) == 1
        if answered:
            publish_finished(self.execution.pk)
        return answered

    def inline_wait_seconds(self) -> float:
        return float(settings.ERPFLOW_INLINE_WAIT_SECONDS)

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early when a cancel is requested or the lease is lost."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, CONTROL_INTERVAL / 2))
            if self.control() is not None:
                return

    def wait_until(self, moment) -> None:
        """Wait for ``moment``: in this thread when it is near, else parked in the database."""
        left = (moment - timezone.now()).total_seconds()
        if left > self.inline_wait_seconds():
            self.park(moment)
        elif left > 0:
            self.sleep(left)

    def park(self, until) -> None:
        self.write_held()
        if not parking.park(self.execution.pk, self.lease, until):
            raise Interrupted("lost")
        logger.debug("execution %s parked until %s", self.execution.pk, until.isoformat())
        raise Interrupted("parked")

    # -- endings ----------------------------------------------------------------------------------

    def cancel(self, position: int) -> Execution:
        skipped = [
            self.not_run(step, "", None, "Not run: the execution was cancelled.")
            for index, step in enumerate(self.plan.order)
            if index >= position and not step.get("group") and ("", step["id"]) not in self.records
        ]
        with self.held_lock:
            self.held.extend((record, True) for record in skipped)  # stored with the finish
        name = self.plan.order[position]["name"] if position < len(self.plan.order) else None
        where = f" before step '{name}'" if name else ""
        return self.finish(Status.CANCELLED, error=f"Cancelled on request{where}.")

    def finish(self, status: str, *, output: Any = None, error: str = "") -> Execution:
        stored, _ = cap_output(self.masker.value(output))
        error = storable(self.masker.text(error))
        try:
            finished = self.finish_with_held(status, stored, error)
        except Interrupted:
            finished = False
        if not finished:
            return self.reread()
        logger.debug("execution %s finished %s", self.execution.pk, status)
        ended(self.execution.pk, self.execution)
        return self.execution

    def finish_with_held(self, status: str, output: Any, error: str) -> bool:
        """Store the records held and the final status in one round trip (``journal.finish``): both or,
        when this delivery no longer holds the execution, neither."""
        with self.held_lock:
            batch, self.held = self.held, []
        records, guarded = [r for r, _ in batch], [g for _, g in batch]
        try:
            finished = journal.finish(self.execution, status, output, error, self.lease, records, guarded)
        except IntegrityError:
            logger.warning("execution %s: a step was recorded by another delivery", self.execution.pk)
            return False
        except (OperationalError, InterfaceError):
            raise
        except (DatabaseError, TypeError, ValueError):  # a value refused: find whose, one record at a time
            if batch:
                self.write(batch)
            return self.execution.finish(status, output=output, error=error, lease=self.lease)
        self.stored(batch, finished)
        return finished

    def reread(self) -> Execution:
        self.execution.refresh_from_db()
        return self.execution
