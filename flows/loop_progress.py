"""How far the for-each steps of an execution got, from its step records: what the execution page,
the API and the editor's run-and-watch show ("137 / 200, 2 failed").

The engine notes how many batches each for-each's list gave when the loop starts
(``Execution.progress``); a batch counts as done once every step of the body has a final record in
its scope, and as failed when one of them failed or timed out without Ignore Errors.
"""

from __future__ import annotations

from collections import defaultdict

from flows.models import Execution, StepRun

STOPPING = (StepRun.Status.FAILED, StepRun.Status.TIMED_OUT)


def loops(execution: Execution, steps) -> list[dict]:
    """``[{"step_id", "name", "total", "done", "failed"}]`` for each for-each that started."""
    started = execution.progress if isinstance(execution.progress, dict) else {}
    if not started:
        return []
    by_item: dict[str, dict[int, list[StepRun]]] = defaultdict(lambda: defaultdict(list))
    names = {}
    for record in steps:
        if record.scope:
            loop = record.scope.split("[", 1)[0]
            by_item[loop][record.item].append(record)
        elif record.step_id in started:
            names[record.step_id] = record.name
    summary = []
    for step_id, noted in started.items():
        body_steps = noted.get("body_steps", 1)
        done = failed = 0
        for records in by_item[step_id].values():
            finished = {r.step_id for r in records if r.status in StepRun.FINISHED}
            if any(r.status in STOPPING for r in records):
                failed += 1
                done += 1
            elif len(finished) >= body_steps:
                done += 1
        summary.append(
            {
                "step_id": step_id,
                "name": names.get(step_id, noted.get("name", step_id)),
                "total": noted.get("batches", 0),
                "done": done,
                "failed": failed,
            }
        )
    return summary
