"""Eager execution: a trigger that waits for its result runs the flow in the web process that received it.

The request thread is blocked for the wait anyway, so the hop through Celery (a broker round trip,
a worker's claim, a publish back) buys nothing. The execution is created already claimed (lease,
heartbeat, first delivery: ``flows.leases.claimed_fields``) and run by ``flows.engine.run``, the
same code a worker runs, so connector pools, concurrency limits and the network policy apply as
they do there. The database stays the arbiter:

- the web process dies mid-run: the execution is running without heartbeats, the stranded sweep
  (``flows.stranded``) sends it to the workers, which resume after the last finished step;
- the wait runs out first: the caller gets 202 and the engine stops before its next step, gives
  the execution back to the queue (``flows.leases.release``) and sends it to the workers, which
  take the rest; a step under way when the wait ends finishes here first (a step is never cut);
- a respond step answers the caller: the answer goes out at once, and the rest of the flow goes
  to the workers the same way, so no web thread is held by what the caller no longer waits for.

A flow that cannot outlast the wait runs in the request thread itself: every step is one attempt
of a kind that ends within its timeout, the timeouts add up to less than the wait (with
``MARGIN_MS`` to spare), and no respond step answers early (``flows.plans.Plan.longest_ms``).
Handing it to another thread would cost more CPU than its steps (a thread switch each way, a
second database connection kept busy). Any other flow runs in a thread of this module's pool
while the request thread waits, so a wait is never longer than asked even when a step is slow.
``ERPFLOW_EAGER_EXECUTION`` (on by default) and the flow's ``run_in_web`` decide; an unwaited
trigger (``wait=0``), schedules and events go through Celery as before.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import NamedTuple

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from core.plain_instances import shallow_copy
from core.thread_pools import KeptThreads
from flows import engine, leases, notify, parking, triggers
from flows.models import Execution, Flow, StepRun
from flows.plans import Plan, plan_of
from flows.tasks import run_execution
from flows.triggers import TriggerRequest

logger = logging.getLogger("erpflow.eager")

THREADS = 32  # per web process; a run that finds them all busy starts late and hands over if the wait ends
MARGIN_MS = 1000  # a flow run in the request thread leaves this much of the wait for the database writes
_pool = KeptThreads(THREADS, "erpflow-eager")


def wanted(flow: Flow, request: TriggerRequest) -> bool:
    """Whether a trigger of ``flow`` carrying ``request`` runs in this process: not inside a transaction,
    whose uncommitted execution the engine's thread could not see."""
    return (
        bool(request.wait) and settings.ERPFLOW_EAGER_EXECUTION and flow.run_in_web and not connection.in_atomic_block
    )


class Started(NamedTuple):
    """What ``start`` did: the execution, whether it is new, whether it ran here (its wait spent) and,
    when it ran here to its end, every step record it stored (the answer needs not read them back)."""

    execution: Execution
    created: bool
    waited: bool
    steps: list[StepRun] | None = None


def run(execution: Execution, wait: float) -> tuple[Execution, list[StepRun] | None]:
    """Run ``execution`` (created claimed under ``execution.lease``) for at most ``wait`` seconds.

    Returns the execution as the engine finished it, with its step records, when it ended within
    the wait; otherwise (parked or handed over, answered by a respond step, the wait over) the
    execution as created, whose outcome the caller reads, and None.
    """
    deadline = time.monotonic() + wait
    running = shallow_copy(execution)  # the engine's own: the request thread keeps ``execution``
    recorded: list[StepRun] = []
    plan = plan_of(execution.version_id, execution.version_created)
    answered = notify.watch(execution.pk)
    try:
        if fits(plan, wait):
            _deliver_here(running, deadline, answered, recorded)
        else:
            _pool.submit(_deliver, running, deadline, answered, recorded)
            answered.wait(max(0.0, deadline - time.monotonic()))
    finally:
        notify.unwatch(execution.pk)
    # Set by the ending's publish, after the engine stored the outcome in ``running``; a respond
    # step's answer is in the database only.
    if answered.is_set() and running.status in Execution.FINAL and not plan.responds:
        return running, recorded
    # Parked, or handed over after a respond step: the rest of the wait is an ordinary one.
    remaining = deadline - time.monotonic()
    if remaining > 0:
        notify.wait_finished(execution.pk, remaining)
    return execution, None


def fits(plan: Plan, wait: float) -> bool:
    """Whether a run of ``plan`` ends within ``wait`` seconds whatever its steps do, so that it may run
    in the request thread."""
    return plan.longest_ms is not None and not plan.responds and plan.longest_ms + MARGIN_MS <= wait * 1000


def _deliver_here(execution: Execution, deadline: float, answered: threading.Event, recorded: list[StepRun]) -> None:
    """``_deliver`` in the request thread. What would end a pool thread's task unseen is logged, and the
    request answers as it would then: the execution as created, once the wait is over."""
    try:
        _deliver(execution, deadline, answered, recorded)
    except Exception:
        logger.exception("execution %s: the run in the request thread failed", execution.pk)


def _deliver(
    execution: Execution, deadline: float, answered: threading.Event, recorded: list[StepRun]
) -> Execution | None:
    """The pool thread's part: run the engine until the flow ends or the caller stops waiting."""
    lease = execution.lease

    def hand_over() -> bool:
        return answered.is_set() or time.monotonic() >= deadline

    try:
        finished = engine.run(execution.pk, claimed=execution, hand_over=hand_over, recorded=recorded)
    except (OperationalError, InterfaceError) as exc:
        # The execution stays running under this lease without heartbeats: the sweep hands it over.
        logger.warning("execution %s: database unavailable in the web process (%s)", execution.pk, exc)
        connection.close()
        return None
    finally:
        answered.set()
    if finished.status == Execution.Status.RUNNING and finished.lease == lease:
        if leases.release(execution.pk, lease):
            _send(execution.pk)
    elif finished.status == Execution.Status.WAITING:
        parking.wake_when_due(finished, run_execution)
    return finished


def _send(execution_id: int) -> None:
    """Hand a released execution to the workers; a broker that refuses leaves it to the stranded sweep."""
    try:
        run_execution.apply_async((execution_id,), queue=settings.ERPFLOW_EXECUTION_QUEUE)
    except Exception as exc:
        logger.warning("execution %s: the broker refused it (%s); the stranded sweep sends it", execution_id, exc)


def start(flow: Flow, environment, request: TriggerRequest, *, trigger: str, user=None) -> Started:
    """``flows.triggers.start``, running the new execution here when ``wanted``."""
    if not wanted(flow, request):
        return Started(*triggers.start(flow, environment, request, trigger=trigger, user=user), waited=False)
    lease = secrets.token_hex(8)
    execution, created = triggers.start(flow, environment, request, trigger=trigger, user=user, lease=lease)
    if not created:
        return Started(execution, created=False, waited=False)
    ran, steps = run(execution, request.wait)
    return Started(ran, created=True, waited=True, steps=steps)
