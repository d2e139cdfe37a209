"""Structured logs: the execution context reaches every record logged inside it, and only those.

Not a drill itself (no processes): the secrets drill checks the same fields in real workers' JSON lines.
"""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest

from config.logging import ExecutionContextFilter, JsonFormatter, PlainFormatter, log_context


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(ExecutionContextFilter())
    logger = logging.getLogger(f"erpflow.test-logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_carry_execution_flow_step_and_correlation_inside_an_execution_only():
    logger, stream = capture(JsonFormatter())
    with log_context(execution_id=41, flow_id=7, correlation_id="order-99"):
        logger.info("claimed")
        with log_context(step="load orders"):
            logger.debug("step %s", "running")
        logger.warning("finished")
    logger.info("idle")

    claimed, step, finished, idle = lines(stream)
    assert claimed["execution_id"] == 41 and claimed["flow_id"] == 7 and claimed["correlation_id"] == "order-99"
    assert "step" not in claimed
    assert (step["step"], step["message"], step["level"]) == ("load orders", "step running", "DEBUG")
    assert "step" not in finished and finished["execution_id"] == 41
    assert not {"execution_id", "flow_id", "step", "correlation_id"} & set(idle)
    assert idle["logger"] == logger.name and idle["time"].endswith("+00:00")


def test_a_traceback_stays_inside_its_json_line():
    logger, stream = capture(JsonFormatter())
    with log_context(execution_id=3):
        try:
            raise RuntimeError("driver broke")
        except RuntimeError:
            logger.exception("step failed")
    (entry,) = lines(stream)
    assert "RuntimeError: driver broke" in entry["exception"] and entry["execution_id"] == 3


def test_plain_lines_append_the_context_after_the_message():
    logger, stream = capture(PlainFormatter("%(levelname)s %(message)s"))
    with log_context(execution_id=5, flow_id=2, step="s1", correlation_id=""):
        logger.warning("slow")
    logger.warning("outside")
    assert stream.getvalue().splitlines() == ["WARNING slow [execution_id=5 flow_id=2 step=s1]", "WARNING outside"]


def test_threads_running_different_executions_never_mix_their_context():
    logger, stream = capture(JsonFormatter())
    barrier = threading.Barrier(2)

    def run(execution_id: int):
        with log_context(execution_id=execution_id):
            barrier.wait()
            logger.info("in %s", execution_id)

    threads = [threading.Thread(target=run, args=(n,)) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted((e["message"], e["execution_id"]) for e in lines(stream)) == [("in 1", 1), ("in 2", 2)]


def test_an_unknown_context_field_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown log context fields \\['tenant'\\]"), log_context(tenant="x"):
        pass
