"""Sample data a draft carries so that steps can be written before anything has run.

The draft's top-level ``sample`` is the trigger payload a test run uses when none is given:
``{"format": "json", "text": "..."}`` or ``{"format": "xml", "text": "..."}`` as the user pasted
it (XML read as a webhook reads it, so the fields match what a real call brings), or
``{"format": "execution", "execution": 12, "payload": {...}}``, the input of an earlier execution
copied when it was picked (housekeeping may delete the execution later; the sample stays). A step's
``sample_output`` pins what the step returns, for the property picker of the steps after it.

Samples are kept small (``MAX_SAMPLE_CHARS`` each): they live in every save of the draft and every
version, and a few representative records show every field.
"""

from __future__ import annotations

import json
from typing import Any

from core.payloads import PayloadError, load_json

MAX_SAMPLE_CHARS = 64 * 1024
FORMATS = ("json", "xml", "execution")


class SampleError(ValueError):
    """A sample that cannot be read; the message says which one and why."""


def _size_problem(chars: int, what: str) -> str | None:
    if chars <= MAX_SAMPLE_CHARS:
        return None
    return (
        f"The {what} has {chars:,} characters; a sample may have at most {MAX_SAMPLE_CHARS:,}. "
        "Keep a few representative records: the picker needs each field once, not every row."
    )


def problems(graph: dict) -> dict[str, str]:
    """What is wrong with the samples of ``graph``, by where they are (``sample``, ``steps[1].sample_output``)."""
    found: dict[str, str] = {}
    sample = graph.get("sample")
    if sample is not None:
        try:
            _read(sample)
        except SampleError as exc:
            found["sample"] = str(exc)
    steps = graph.get("steps") if isinstance(graph.get("steps"), list) else []
    for index, step in enumerate(steps):
        if isinstance(step, dict) and step.get("sample_output") is not None:
            text = json.dumps(step["sample_output"], ensure_ascii=False)
            problem = _size_problem(len(text), f"sample output of step '{step.get('name') or step.get('id')}'")
            if problem:
                found[f"steps[{index}].sample_output"] = problem
    return found


def _read(sample: Any) -> Any:
    if not isinstance(sample, dict) or sample.get("format") not in FORMATS:
        raise SampleError(f"The sample must be an object with a format ({', '.join(FORMATS)}).")
    if sample["format"] == "execution":
        if not isinstance(sample.get("execution"), int) or "payload" not in sample:
            raise SampleError("A sample from an execution needs the execution's number and its payload.")
        size = _size_problem(len(json.dumps(sample["payload"], ensure_ascii=False)), "sample payload")
        if size:
            raise SampleError(size)
        return sample["payload"]
    text = sample.get("text")
    if not isinstance(text, str):
        raise SampleError(f"A {sample['format'].upper()} sample needs its text.")
    size = _size_problem(len(text), "sample payload")
    if size:
        raise SampleError(size)
    if not text.strip():
        return {}
    if sample["format"] == "json":
        try:
            return load_json(text, "sample payload")
        except PayloadError as exc:
            raise SampleError(str(exc)) from None
    return _xml(text)


def _xml(text: str) -> Any:
    # Imported here: flows.payloads reads trigger requests and imports flows.triggers, which uses this module.
    from flows.payloads import parse_xml
    from flows.triggers import TriggerError

    try:
        return parse_xml(text.encode())
    except TriggerError as exc:
        raise SampleError(f"The sample payload: {exc.message}") from None


def payload(graph: dict) -> Any | None:
    """The sample trigger payload of ``graph``, or None when it has none (or one that cannot be read)."""
    sample = graph.get("sample") if isinstance(graph, dict) else None
    if sample is None:
        return None
    try:
        return _read(sample)
    except SampleError:
        return None
