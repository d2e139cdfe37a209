"""Sampling profiles of running server processes with py-spy, summed up as their heaviest frames.

``BENCH_PROFILE=1`` makes ``bench/trigger.py`` record its web processes during the 10-client run:
samples are taken only of threads holding the GIL (``--gil``), so waits on the database or Redis
are left out and the shares are of CPU spent in Python. Each frame's share is inclusive (the
frame and everything it called), counted once per sample however often it recurs in the stack.
"""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

_LINE = re.compile(r":\d+\)$")


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid`` (gunicorn's workers under its arbiter)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    return found


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextmanager
def recording(pids: list[int], folder: Path, seconds: float):
    """py-spy recording each of ``pids`` for ``seconds``; yields the list of raw profiles written."""
    tool = py_spy()
    if tool is None:
        print("    (no py-spy on the PATH: not profiled)")
        yield []
        return
    outputs = [folder / f"profile-{pid}.txt" for pid in pids]
    command = [tool, "record", "--gil", "--nonblocking", "-r", "200", "-f", "raw", "-d", f"{seconds:.0f}"]
    quiet = subprocess.DEVNULL
    spies = [
        subprocess.Popen([*command, "-p", str(pid), "-o", str(out)], stdout=quiet, stderr=quiet)
        for pid, out in zip(pids, outputs, strict=True)
    ]
    try:
        yield outputs
    finally:
        for spy in spies:
            try:
                spy.wait(seconds + 20)
            except subprocess.TimeoutExpired:
                spy.kill()


# erpflow's own packages: their frames say where the time goes; Django's and the server's frames are
# the plumbing around them.
OWN = ("accounts/", "alerts/", "audit/", "config/", "connectors/", "core/", "expressions/", "flows/", "instructions/")


def top_frames(profiles: list[Path], count: int = 20) -> list[tuple[float, str]]:
    """The ``count`` frames of erpflow's own code with the largest inclusive share of the samples."""
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for profile in profiles:
        if not profile.exists():
            continue
        for line in profile.read_text().splitlines():
            stack, _, samples = line.rpartition(" ")
            if not stack or not samples.isdigit():
                continue
            total += int(samples)
            for frame in {_LINE.sub(")", frame) for frame in stack.split(";")}:
                if frame.rpartition("(")[2].startswith(OWN):
                    inclusive[frame] += int(samples)
    if not total:
        return []
    return [(100 * n / total, frame) for frame, n in inclusive.most_common(count)]


def print_top(profiles: list[Path], count: int = 25) -> None:
    frames = top_frames(profiles, count)
    if not frames:
        print("    (py-spy recorded nothing)")
        return
    print(f"    erpflow's heaviest frames (inclusive share of the samples holding the GIL, {len(profiles)} processes):")
    for share, frame in frames:
        print(f"      {share:5.1f}%  {frame[:140]}")
