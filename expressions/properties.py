"""The names every expression of a step sees: ``env``, ``trigger``, ``steps`` and ``execution``
(what each holds is in ``expressions.sandbox``'s docstring)."""

from __future__ import annotations

from typing import Any


def properties(
    *,
    env: dict[str, str],
    trigger: dict,
    steps: dict[str, Any],
    execution_id: int | None,
    correlation_id: str = "",
) -> dict:
    """The names an expression sees (see the module docstring)."""
    return {
        "env": env,
        "trigger": {
            "payload": trigger.get("payload"),
            "headers": trigger.get("headers") or {},
            "query": trigger.get("query") or {},
            "event": trigger.get("event"),
        },
        "steps": steps,
        "execution": {"id": execution_id, "correlation_id": correlation_id},
    }
