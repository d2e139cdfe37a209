"""Signals flows sends for what its models' own signals do not show (updates made in SQL)."""

from __future__ import annotations

from django.dispatch import Signal

# Sent by ``engine.request_cancel`` with ``execution=`` when a cancel took: a queued execution is
# cancelled, or a running one asked to stop, both by an UPDATE that sends no post_save.
execution_cancelled = Signal()
