"""Rendering an instruction, the part of every step that runs user expressions: a SQL instruction with
four ``{{ }}`` (a payload field, a variable, an upstream row, a filter) turned into statement text and
bind parameters, per SQL dialect, and a two-expression HTTP instruction. Prints the median of
repeated runs in microseconds.

No database is touched; the settings are loaded only because the expression sandbox reads them.

    .venv/bin/python bench/render.py
"""

from __future__ import annotations

import os
import statistics
import sys
import timeit
from pathlib import Path

RUNS = 5
NUMBER = 5000
SQL = (
    "SELECT * FROM orders WHERE customer = {{ trigger.payload.customer }} AND company = {{ env.COMPANY }}"
    " AND code = {{ steps.get_customer.rows[0].code }} AND lines = {{ trigger.payload.lines|length }}"
)
HTTP = (
    "POST /v1/customers/{{ trigger.payload.customer }}/orders\nAccept: application/json\n\n"
    '{"lines": {{ trigger.payload.lines }}}'
)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from expressions.properties import properties
    from instructions.render import render_instruction

    context = properties(
        env={"COMPANY": "1000"},
        trigger={"payload": {"customer": "C-1000", "lines": [{"sku": "A-1", "qty": 2}]}},
        steps={"get_customer": {"rows": [{"code": "C-1000"}]}},
        execution_id=1,
    )
    cases = {f"SQL, {dialect}": ("sql", "pyformat", SQL, dialect) for dialect in ("postgresql", "mysql", "sqlite")}
    cases["HTTP"] = ("http", None, HTTP, None)
    print(f"render: median of {RUNS} runs of {NUMBER:,} renders")
    for name, args in cases.items():
        render_instruction(*args[:3], context, args[3])
        runs = timeit.repeat(
            lambda args=args: render_instruction(*args[:3], context, args[3]), number=NUMBER, repeat=RUNS
        )
        print(f"  {name:<18} {statistics.median(runs) / NUMBER * 1e6:8.1f} us per instruction")


if __name__ == "__main__":
    main()
