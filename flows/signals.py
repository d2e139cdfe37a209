"""Signals flows sends for what its models' own signals do not show (updates made in SQL)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``engine.request_cancel`` with ``execution=`` when a cancel took: a queued execution is
# cancelled, or a running one asked to stop, both by an UPDATE that sends no post_save.
execution_cancelled = Signal()

# Sent with ``execution_id=`` (and ``execution=``, the ended execution when its writer holds it, else
# None) once an execution reached a final state, by whichever writer ended it
# (the engine, a cancel, the watchdog). Receivers run in that writer's thread: they queue their work
# (an alert, an on-failure handler, the next ordered event) rather than do it there.
execution_finished = Signal()
