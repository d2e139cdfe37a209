"""Log lines that say which execution they belong to, as JSON lines or plain text.

A worker runs many executions at once on its threads, so a log line without its execution is hard
to use. The engine and the Celery task open a ``log_context`` around an execution and each of its
steps; ``ExecutionContextFilter`` copies that context (a ``ContextVar``, so one per thread and never
shared between executions) onto every record logged inside it, from any logger: erpflow's own,
Celery's, a driver's. The formatters then write it out.

``LOG_FORMAT=json`` (production) writes one JSON object per line, made for a log collector;
``plain`` (the default of ``make run``) writes a readable line with the context appended.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

CONTEXT_FIELDS = ("execution_id", "flow_id", "step", "correlation_id")

_context: ContextVar[dict[str, object]] = ContextVar("erpflow_log_context")


def current_context() -> dict[str, object]:
    """The fields of the innermost ``log_context`` of this thread (empty outside one)."""
    return _context.get({})


@contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Add ``values`` (among ``CONTEXT_FIELDS``; empty ones are left out) to every record logged
    inside the block by this thread; the previous context comes back when the block ends."""
    unknown = set(values) - set(CONTEXT_FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields {sorted(unknown)}; allowed: {CONTEXT_FIELDS}")
    merged = {**current_context(), **{key: value for key, value in values.items() if value not in (None, "")}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


class ExecutionContextFilter(logging.Filter):
    """Sets each context field on the record (None outside an execution), so any formatter can use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current_context()
        for field in CONTEXT_FIELDS:
            if not hasattr(record, field):
                setattr(record, field, context.get(field))
        return True


def _context_of(record: logging.LogRecord) -> dict[str, object]:
    """The record's context fields that are set, whether or not the filter ran (a handler without it)."""
    context = current_context()
    values = {field: getattr(record, field, context.get(field)) for field in CONTEXT_FIELDS}
    return {field: value for field, value in values.items() if value is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, the execution context
    fields that are set, process and thread, and the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context_of(record),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The usual text line, followed by ``[execution_id=… flow_id=… step=… correlation_id=…]`` inside an execution."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        context = _context_of(record)
        if not context:
            return text
        tags = " ".join(f"{field}={value}" for field, value in context.items())
        first, newline, rest = text.partition("\n")
        return f"{first} [{tags}]{newline}{rest}"
