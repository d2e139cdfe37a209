"""For each: runs the steps of its group once per item of a list, or once per batch of items.

The body sees ``item`` (the element; with a batch size above 1, the list of the batch's elements)
and ``index`` (the position of the item, or of the batch's first item) besides the properties of
the steps before the for-each. Items run one at a time or ``concurrency`` at once; each item's
steps are recorded in their own scope (``<step id>[<batch>]``), which is how a resumed execution
knows which items finished. The output is the list of the items' outputs (the last step of the
body that ran), an item that failed giving ``{"index": i, "error": ...}`` in its place.

``continue_on_error`` is the Ignore Errors of one item: a failed item does not stop the loop, and
the execution ends ``completed_with_errors``. Without it, the first failed item stops the loop
(items already in flight finish) and the for-each fails, where its own Ignore Errors applies.
"""

from __future__ import annotations

from typing import Any

from expressions.values import value_of, value_problem
from flows.kinds.base import Call, Kind, Report, StepFailed

MAX_ITEMS = 100_000
MAX_BATCH = 10_000
MAX_CONCURRENCY = 16


class ForEachKind(Kind):
    key, label = "foreach", "For each"
    has_body = True
    retries = False  # its body's steps have their own policies
    ends_within_timeout = False
    pure = True  # it evaluates the list and runs the body, whose steps are recorded as their own kinds say

    def normalize(self, step: dict) -> None:
        step.setdefault("items", "")
        step.setdefault("batch_size", 1)
        step.setdefault("concurrency", 1)
        step.setdefault("continue_on_error", False)

    def check(self, step: dict, report: Report) -> None:
        problem = value_problem(step["items"]) if isinstance(step["items"], str) else "it must be text"
        if problem:
            report("items", f"the list to iterate over (items): {problem}.")
        for name, high in (("batch_size", MAX_BATCH), ("concurrency", MAX_CONCURRENCY)):
            value = step[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
                report(name, f"{name.replace('_', ' ')} must be a whole number from 1 to {high}.")
        if not isinstance(step["continue_on_error"], bool):
            report("continue_on_error", "continue_on_error must be true or false.")

    def run(self, call: Call) -> Any:
        step = call.step
        items = value_of(step["items"], call.context, call.deadline.remaining_ms())
        if items is None:
            items = []
        if not isinstance(items, list):
            raise StepFailed(f"The list to iterate over is {type(items).__name__}, not a list: {step['items']}")
        if len(items) > MAX_ITEMS:
            raise StepFailed(f"The list has {len(items)} items; a for-each takes at most {MAX_ITEMS}.")
        size = step["batch_size"]
        batches = [items[i : i + size] for i in range(0, len(items), size)]

        def context_of(number: int, batch: list) -> dict:
            return {"item": batch if size > 1 else batch[0], "index": number * size}

        return call.delivery.run_body(call, batches, context_of)
