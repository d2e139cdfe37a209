"""Changing a draft in part: what a PATCH of the draft means."""

from __future__ import annotations


def merge_draft(current: dict, patch: dict) -> dict:
    """PATCH semantics of the draft: steps given with a known id are updated field by field, steps
    with a new id are added, any other top-level key (``edges``) replaces the stored one."""
    merged = dict(current)
    for key, value in patch.items():
        if key != "steps" or not isinstance(value, list):
            merged[key] = value
            continue
        steps = [dict(step) if isinstance(step, dict) else step for step in current.get("steps", [])]
        by_id = {step.get("id"): step for step in steps if isinstance(step, dict)}
        for change in value:
            if isinstance(change, dict) and change.get("id") in by_id:
                by_id[change["id"]].update(change)
            else:
                steps.append(change)
        merged["steps"] = steps
    return merged
