"""What happens once an execution reached a final state, whoever ended it.

Waiters are woken (``flows.notify``) and ``flows.signals.execution_finished`` is sent, so the apps
above flows (alerts, on-failure handlers, ordered events) learn of every ending through one door.
A receiver that fails is logged and never stops the writer that ended the execution.
"""

from __future__ import annotations

import logging

from flows.models import Execution
from flows.notify import publish_finished
from flows.signals import execution_finished

logger = logging.getLogger("erpflow.engine")


def ended(execution_id: int, execution: Execution | None = None) -> None:
    """``execution``, when the writer holds it as it ended, lets receivers read its status, flow and
    ordering key without a query of their own; they look it up when it is not given."""
    publish_finished(execution_id, execution)
    sent = execution_finished.send_robust(sender=ended, execution_id=execution_id, execution=execution)
    for receiver, result in sent:
        if isinstance(result, Exception):
            logger.error(
                "execution %s: %s failed after it ended: %s: %s",
                execution_id,
                getattr(receiver, "__qualname__", receiver),
                type(result).__name__,
                result,
            )
