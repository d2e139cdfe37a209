#!/usr/bin/env python3
"""Keep the processes of `make run` up: start them, restart one that dies, stop them all when told to.

    supervise.py [--grace SECONDS] [--ready URL --notice-fd FD] < CHILDREN

CHILDREN, on standard input, is NUL-separated: NAME COMMAND [ARG...] [--- NAME COMMAND [ARG...]]...
It is not given as arguments so that the supervisor's own command line never matches a child's:
`pkill -f "celery -A config worker"` must kill the worker, not the supervisor that restarts it.
With --ready, the text read from descriptor FD (bin/run's notice: where to sign in, and the first
start's admin password) is printed in a box once URL answers 200, so that it is the last thing of
the start-up on the screen rather than lost among the children's lines; after READY_WITHIN seconds
without a 200 it is printed all the same, with what URL answered.

A child that dies is started again after a back-off: 1 s, doubling up to 30 s while it keeps dying,
back to 1 s once it had stayed up a minute, so a crash loop neither spins nor keeps the app down long.
Only SIGINT, SIGTERM or SIGHUP stops everything: each child gets SIGTERM, and one still running after
the grace period (10 s) is killed.

Each child runs in a process group of its own, with whatever it starts (gunicorn's workers), so that
a child is signalled, and cleaned up, as a whole: like systemd with a service's control group, what a
dead child leaves behind is killed before it starts again, and nothing outlives the stop. It also keeps
Ctrl-C in a terminal from reaching the children directly: each gets exactly one SIGTERM, from here, not
the terminal's SIGINT followed by that (a second signal means "hurry" to Celery and gunicorn).
Standard library only: bin/run starts it with the venv's Python before anything of the app is imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

FIRST_DELAY = 1.0
MAX_DELAY = 30.0
STABLE_AFTER = 60.0  # a child up this long before it died was not in a crash loop
GRACE = 10.0
SETTLE = 1.0
READY_CHECK_AGENT = "erpflow-supervise-ready-check"  # bin/gunicorn.conf.py leaves these out of the access log
READY_WITHIN = 120.0  # seconds to wait for the app to answer before printing the notice anyway

log = logging.getLogger("supervise")


def next_delay(previous: float, uptime: float) -> float:
    """Seconds to wait before restarting a child that died after ``uptime`` seconds, when the wait
    before its last restart was ``previous`` (0 if it was never restarted)."""
    if previous == 0 or uptime >= STABLE_AFTER:
        return FIRST_DELAY
    return min(previous * 2, MAX_DELAY)


class Child:
    def __init__(self, name: str, argv: list[str]):
        self.name, self.argv = name, argv
        self.process: subprocess.Popen | None = None
        self.started = 0.0
        self.delay = 0.0
        self.restart_at: float | None = None

    def start(self) -> None:
        self.restart_at = None
        self.started = time.monotonic()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - bin/run's own commands
                self.argv, process_group=0, stdin=subprocess.DEVNULL
            )
        except OSError as exc:  # e.g. the command is missing: back off as if it had died at once
            self._schedule_restart(f"could not start ({exc})")
            return
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def check(self, now: float) -> None:
        """Notice a death, or start again when the back-off is over."""
        if self.process is not None and self.process.poll() is not None:
            status = self.process.returncode
            how = f"was killed by {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
            self._schedule_restart(f"(pid {self.process.pid}) {how} after {now - self.started:.1f} s")
            self.signal(signal.SIGKILL)  # what it left behind (its group's other processes)
            self.process = None
        elif self.restart_at is not None and now >= self.restart_at:
            self.start()

    def _schedule_restart(self, what: str) -> None:
        now = time.monotonic()
        self.delay = next_delay(self.delay, now - self.started)
        self.restart_at = now + self.delay
        log.warning("%s %s; restarting it in %g s", self.name, what, self.delay)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, signum: int) -> None:
        """Send ``signum`` to the child's process group: the child and what it started."""
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone
            os.killpg(self.process.pid, signum)


def boxed(lines: list[str]) -> str:
    width = max(map(len, lines))
    edge = "+" + "-" * (width + 2) + "+"
    return "\n".join([edge, *(f"| {line.ljust(width)} |" for line in lines), edge])


def answer(url: str) -> tuple[bool, str]:
    """Whether ``url`` answers 200, and what it answered otherwise."""
    try:
        request = urllib.request.Request(url, headers={"User-Agent": READY_CHECK_AGENT})  # noqa: S310 - bin/run's URL
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310 - bin/run's own URL
            return True, "200"
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(300).decode(errors='replace')}"
    except OSError as exc:
        return False, str(getattr(exc, "reason", exc))


def announce(url: str, notice: str, within: float) -> None:
    """Print ``notice`` in a box once ``url`` answers 200, or after ``within`` seconds saying what it answered."""
    deadline = time.monotonic() + within
    ready, said = answer(url)
    while not ready and time.monotonic() < deadline:
        time.sleep(1)
        ready, said = answer(url)
    time.sleep(SETTLE)  # the access log line of that 200, and the worker's "ready", come out first
    heading = "erpflow is ready." if ready else f"erpflow is not ready after {within:g} s: {url} answered {said}"
    print(boxed([heading, *notice.rstrip("\n").splitlines()]), flush=True)


def supervise(children: list[Child], grace: float, ready: str | None = None, notice: str = "") -> None:
    stops: list[int] = []
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _frame: stops.append(signum))
    for child in children:
        child.start()
    if ready:
        threading.Thread(target=announce, args=(ready, notice, READY_WITHIN), daemon=True).start()
    while not stops:
        for child in children:
            child.check(time.monotonic())
        time.sleep(0.2)

    running = [child for child in children if child.running()]
    log.info("%s: stopping %s", signal.Signals(stops[0]).name, ", ".join(child.name for child in running))
    for child in running:
        child.signal(signal.SIGTERM)
    # A second Ctrl-C ends the wait at once.
    deadline = time.monotonic() + grace
    while any(child.running() for child in running) and time.monotonic() < deadline and len(stops) < 2:
        time.sleep(0.1)
    for child in children:
        if child.process is None:
            continue  # waiting for its restart
        if child.running():
            log.warning("%s (pid %d) did not stop within %g s; killing it", child.name, child.process.pid, grace)
        child.signal(signal.SIGKILL)  # the child if it is still there, and anything it left behind
        child.process.wait()
    log.info("stopped")


def parse(args: list[str], listed: bytes) -> tuple[list[Child], float, str | None, str]:
    """The children listed (see the module docstring), the grace period, the URL to wait for and the
    notice to print then, from the arguments."""
    options = {"--grace": str(GRACE), "--ready": None, "--notice-fd": None}
    while args[:1] and args[0] in options and len(args) > 1:
        options[args[0]], args = args[1], args[2:]
    if args or (options["--ready"] is None) != (options["--notice-fd"] is None):
        sys.exit(__doc__.split("\n\n")[1])
    notice = ""
    if options["--notice-fd"] is not None:
        with os.fdopen(int(options["--notice-fd"])) as source:
            notice = source.read()
    children, current = [], []
    for arg in [*(item.decode() for item in listed.split(b"\0") if item), "---"]:
        if arg != "---":
            current.append(arg)
            continue
        if len(current) < 2:
            sys.exit(__doc__.split("\n\n")[1])
        children.append(Child(current[0], current[1:]))
        current = []
    return children, float(options["--grace"]), options["--ready"], notice


if __name__ == "__main__":
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s", level=logging.INFO)
    supervise(*parse(sys.argv[1:], sys.stdin.buffer.read()))
