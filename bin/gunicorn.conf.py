"""gunicorn's settings under `make run` (bin/run passes the rest on its command line).

bin/supervise.py asks /healthz every second until the app is ready, to print the sign-in box last;
those requests are its own, not the developer's, so the access log leaves them out (a slow worker
start would otherwise fill the screen with them). It marks them with its User-Agent.
"""

from __future__ import annotations

import logging

READY_CHECK_AGENT = "erpflow-supervise-ready-check"


class _LeaveOutReadyChecks(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # gunicorn logs each request with its atoms as the one mapping argument; "a" is the User-Agent.
        return not (isinstance(record.args, dict) and record.args.get("a") == READY_CHECK_AGENT)


def on_starting(server) -> None:
    """In the master, before any worker forks: the workers inherit the filter."""
    logging.getLogger("gunicorn.access").addFilter(_LeaveOutReadyChecks())
