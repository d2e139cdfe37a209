"""What a step can refer to in ``{{ }}``, for the editor's property picker.

The picker lists expressions a user can click into an instruction: the environment's variable
keys (never secret values), the trigger fields of the draft's sample payload (``flows.samples``)
or else of the flow's last execution in that environment, the fields of each upstream step's
pinned sample output or else of its output in its last run, and the execution's own fields. So a
flow shows real fields before it has ever run. Examples are short and secrets in them are masked.
"""

from __future__ import annotations

import json
from typing import Any

from core.masking import Masker
from flows import graph as graphs
from flows import samples
from flows.models import Execution, Flow, StepRun
from flows.step_names import reference_key

MAX_FIELDS = 200
MAX_DEPTH = 6
EXAMPLE_CHARS = 80


def _example(value: Any, masker: Masker) -> Any:
    value = masker.value(value)
    if isinstance(value, str) and len(value) > EXAMPLE_CHARS:
        return value[:EXAMPLE_CHARS] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False)
        return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…"
    return value


def _path(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if key.isidentifier() else f"{prefix}[{json.dumps(key, ensure_ascii=False)}]"


def fields(prefix: str, value: Any, masker: Masker, limit: int = MAX_FIELDS) -> list[dict]:
    """``{"expression", "type", "example"}`` for ``value`` and everything in it, keys sorted (lists: first item)."""
    out: list[dict] = []
    pending = [(prefix, value, 0)]
    while pending and len(out) < limit:
        path, current, depth = pending.pop(0)
        out.append({"expression": path, "type": _type(current), "example": _example(current, masker)})
        if depth >= MAX_DEPTH:
            continue
        if isinstance(current, dict):
            pending.extend((_path(path, str(k)), v, depth + 1) for k, v in sorted(current.items()))
        elif isinstance(current, list) and current:
            pending.append((f"{path}[0]", current[0], depth + 1))
    return out


def _type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "value"
    )


def available(flow: Flow, step_id: str | None, environment) -> dict:
    """The properties a step of ``flow``'s draft can use in ``environment`` (see the module docstring)."""
    variables = list(environment.variables.all())
    masker = Masker([v.plain_value() for v in variables if v.secret])
    env = [
        {
            "expression": _path("env", v.key),
            "secret": v.secret,
            "example": None if v.secret else _example(v.value, masker),
        }
        for v in variables
    ]
    trigger_input = _trigger_input(flow, environment)
    trigger = [
        *fields("trigger.payload", trigger_input.get("payload"), masker),
        *fields("trigger.headers", trigger_input.get("headers") or {}, masker, limit=50),
        *fields("trigger.query", trigger_input.get("query") or {}, masker, limit=50),
    ]
    if isinstance(trigger_input.get("event"), dict):  # started by an event: its envelope too
        trigger += fields("trigger.event", trigger_input["event"], masker, limit=50)
    return {
        "env": env,
        "trigger_source": trigger_input.get("source"),
        "trigger": trigger,
        "steps": _upstream_steps(flow, step_id, environment, masker),
        "execution": [
            {"expression": "execution.id", "type": "number", "example": None},
            {"expression": "execution.correlation_id", "type": "string", "example": None},
        ],
        "functions": [{"expression": "concat(a, b, ...)", "help": "joins values as text"}],
    }


def _trigger_input(flow: Flow, environment) -> dict:
    """The sample as a trigger input when the draft has one, else the last execution's input; ``source`` says which."""
    sample = samples.payload(flow.draft)
    if sample is not None:
        return {"payload": sample, "source": "sample"}
    last = Execution.objects.filter(flow=flow, environment=environment).order_by("-created").only("input", "pk").first()
    if last is None or not isinstance(last.input, dict):
        return {}
    return {**last.input, "source": f"execution {last.pk}"}


def _upstream_steps(flow: Flow, step_id: str | None, environment, masker: Masker) -> list[dict]:
    draft = graphs.normalize(flow.draft)
    steps = {s["id"]: s for s in draft["steps"] if isinstance(s, dict) and isinstance(s.get("id"), str)}
    if step_id not in steps:
        return []
    try:
        upstream = graphs.ancestors(draft).get(step_id, set())
    except (KeyError, TypeError):
        return []
    result = []
    for step in graphs.order(draft):
        if step["id"] not in upstream:
            continue
        key = reference_key(step["name"])
        if step.get("sample_output") is not None:
            result.append(_described(step, key, "sample", step["sample_output"], masker))
            continue
        last = (
            StepRun.objects.filter(
                execution__flow=flow,
                execution__environment=environment,
                step_id=step["id"],
                status=StepRun.Status.SUCCEEDED,
            )
            .order_by("-finished")
            .only("output")
            .first()
        )
        if last is None:
            result.append(_described(step, key, None, None, masker))
        else:
            result.append(_described(step, key, "run", last.output, masker))
    return result


def _described(step: dict, key: str, source: str | None, output: Any, masker: Masker) -> dict:
    """An upstream step in the picker; ``source`` says where its fields come from (``sample``, ``run``, None)."""
    return {
        "step": step["id"],
        "name": step["name"],
        "expression": f"steps.{key}",
        "has_run": source == "run",
        "source": source,
        "fields": fields(f"steps.{key}", output, masker) if source else [],
    }
