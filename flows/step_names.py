"""How a step is named outside its graph: the key expressions reach it by, the label messages show.

Both validation passes (``flows.graph``, ``flows.step_checks``), the engine and the property
picker need the same reading of a step's name, so it lives apart from all of them.
"""

from __future__ import annotations

import re


def reference_key(name: str) -> str:
    """The identifier a step is reachable by in expressions: ``Get customer`` -> ``get_customer``."""
    return re.sub(r"\W+", "_", str(name).strip().lower()).strip("_")


def label(step: dict) -> str:
    """The step as a problem names it: its name, or its id while it has none."""
    name = step.get("name")
    return f"'{name}'" if isinstance(name, str) and name.strip() else f"'{step.get('id')}'"
