"""The contract between the engine and a step kind.

A kind fills in its defaults (``normalize``), reports what is wrong with a step of its kind
without touching the database (``check``), and runs one attempt of a step (``run``). The engine
owns everything around that attempt: the properties, the deadline, retries, Ignore Errors,
recording, parking, cancelling. A kind asks the engine for what only the engine can do through the
``Delivery`` it is given (run a group of steps per item, run a child execution, answer the caller).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from connectors.catalog.base import Deadline
from instructions import Rendered

# Records one problem of a step: (field, message).
Report = Callable[[str, str], None]


class StepFailed(Exception):
    """The step did not do its work; the message is shown to users, like a connector's error."""

    partial_output: dict | None = None


class Parked(Exception):  # noqa: N818 - a control signal, not an error
    """The step waits until ``until`` without holding the worker; ``output`` is recorded meanwhile."""

    def __init__(self, until: datetime, output: dict):
        super().__init__(f"waiting until {until.isoformat()}")
        self.until = until
        self.output = output


class Delivery(Protocol):
    """What the engine offers a kind while it runs a step (see ``flows.engine``)."""

    execution: Any

    def connector(self, connector_id: Any) -> Any: ...

    def run_body(self, call: Call, batches: list, context_of: Callable[[int, Any], dict]) -> list: ...

    def run_child(self, execution_id: int) -> Any: ...

    def respond(self, response: dict) -> bool: ...

    def inline_wait_seconds(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


@dataclass
class Call:
    """One attempt of one step: what it sees and where it reports what it sent."""

    step: dict
    context: dict
    deadline: Deadline
    delivery: Delivery
    scope: str
    earlier: Any = None  # this step's unfinished record in this scope (a parked delay), or None
    branches: list[dict] = field(default_factory=list)  # a router's outgoing edges, in the order tried
    outputs: dict = field(default_factory=dict)  # the outputs of the steps run so far: the engine's, read only
    note: str = ""  # recorded with a step that succeeded with reservations ("2 of 200 items failed")
    sent: Rendered = field(default_factory=lambda: Rendered("", {}))


class Kind:
    """A step kind; subclasses override what differs from a plain step."""

    key: str = ""
    label: str = ""
    routes: bool = False  # its outgoing edges carry conditions (see ``flows.routes``)
    has_body: bool = False  # the steps of its group run inside it
    retries: bool = True  # a retry policy applies to it
    # An attempt ends within the step's timeout: the kind enforces its deadline itself. Not so for a
    # kind that waits, runs a body or a child flow: its step can take longer (``flows.plans``).
    ends_within_timeout: bool = True
    # Pure: an attempt changes nothing outside erpflow and only reads the execution (its expressions
    # see the properties), so running it again after a crash does no harm and gives the same result.
    # The engine may then hold its record in memory and write it with the delivery's next write
    # (``flows.engine``); the record of a step that is not pure is written before the next step runs.
    pure: bool = False

    def normalize(self, step: dict) -> None:
        """Fill in the kind's defaults, in place; present values are left for ``check`` to judge."""

    def check(self, step: dict, report: Report) -> None:
        """Report what is wrong with the step's own fields."""

    def run(self, call: Call) -> Any:
        raise NotImplementedError
