"""``make bench``: run every benchmark module of this folder in turn; each prints its own figures."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

here = Path(__file__).parent
wanted = set(sys.argv[1:])
for module in sorted(here.glob("*.py")):
    if module.stem.startswith("_") or (wanted and module.stem not in wanted):
        continue
    print(f"\n=== bench/{module.name} ===", flush=True)
    runpy.run_path(str(module), run_name="__main__")
