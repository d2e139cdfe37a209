"""SAP over SOAP: parse + execute 1,000 ``RFC_READ_TABLE`` calls against a local mock-sap process.

Each call renders the instruction (the BAPI parser, with a ``{{ }}`` row count) and runs it
through the SAP type's ``execute``, once on pooled sessions (one logon, keep-alive) and once with a
new session per call (a new HTTP client, TCP connection and logon each time). Prints calls per
second for both, and the parser's own time per call with its share of a pooled call; then the RFC
transport's metadata-driven conversion (``connectors.sap.rfctypes.convert`` of a sales order's
parameters against a description read once, as the pool caches it) as a share of the same pooled
call. Target: each under 5% of the call.

    .venv/bin/python bench/sap.py           (BENCH_SAP_CALLS to change the count)
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

CALLS = int(os.environ.get("BENCH_SAP_CALLS", "1000"))
INSTRUCTION = """CALL FUNCTION RFC_READ_TABLE: [
  (QUERY_TABLE: "A_SalesOrder"),
  (DELIMITER: ";"),
  (ROWCOUNT: {{ trigger.payload.rows }}),
  (FIELDS: [(FIELDNAME: "SalesOrder"), (FIELDNAME: "SoldToParty"), (FIELDNAME: "TotalNetAmount")])
]"""
CONTEXT = {"env": {}, "trigger": {"payload": {"rows": 5}}, "steps": {}, "execution": {}}
OPTIONS = {"commit": False, "warnings_as_errors": False}


def setup_django() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def conversion_ms() -> float:
    """Milliseconds per call that ``rfctypes.convert`` takes for a BAPI_SALESORDER_CREATEFROMDAT2-like call
    (a header structure, 5 items, partners, NUMC, packed and date fields) with its interface cached."""
    from connectors.sap.rfctypes import Spec, convert

    char, numc = Spec("CHAR", 4), Spec("NUM", 6)
    header = Spec("STRUCTURE", fields={"DOC_TYPE": char, "SALES_ORG": char, "REQ_DATE_H": Spec("DATE", 8)})
    item = {"ITM_NUMBER": numc, "MATERIAL": Spec("CHAR", 40), "TARGET_QTY": Spec("BCD", 7, 3), "PLANT": char}
    partner = {"PARTN_ROLE": Spec("CHAR", 2), "PARTN_NUMB": Spec("NUM", 10)}
    specs = {
        "ORDER_HEADER_IN": header,
        "TESTRUN": Spec("CHAR", 1),
        "ORDER_ITEMS_IN": Spec("TABLE", fields=item),
        "ORDER_PARTNERS": Spec("TABLE", fields=partner),
    }
    params = {
        "ORDER_HEADER_IN": {"DOC_TYPE": "TA", "SALES_ORG": "1000", "REQ_DATE_H": "2024-01-31"},
        "TESTRUN": "X",
        "ORDER_ITEMS_IN": [
            {"ITM_NUMBER": str(10 * n), "MATERIAL": f"M-{n}", "TARGET_QTY": "2.5", "PLANT": "1000"} for n in range(1, 6)
        ],
        "ORDER_PARTNERS": [{"PARTN_ROLE": "AG", "PARTN_NUMB": 1000001}, {"PARTN_ROLE": "WE", "PARTN_NUMB": "1000002"}],
    }
    started = time.perf_counter()
    for _ in range(CALLS):
        convert(specs, params, "BAPI_SALESORDER_CREATEFROMDAT2")
    return (time.perf_counter() - started) / CALLS * 1000


def main() -> None:
    setup_django()
    from connectors.catalog.base import Deadline
    from connectors.catalog.sap import SapType
    from connectors.sap import sessions
    from instructions.render import render_instruction
    from tests.sap import mockserver

    logging.getLogger("httpx").setLevel(logging.WARNING)  # one log line per request would be measured too
    mock = mockserver.start(args=("--no-request-log",))
    kind = SapType()
    settings = {
        "transport": "soap",
        "soap_url": mock.soap_url,
        "client": "100",
        "user": mock.user,
        "passwd": mock.password,
        "lang": "EN",
        "verify_tls": True,
        "connect_timeout": 10,
        "min_idle": 1,
        "max_pool": 1,
        "idle_timeout_ms": 600_000,
    }
    try:
        parse_seconds = 0.0

        def one(session) -> None:
            nonlocal parse_seconds
            started = time.perf_counter()
            rendered = render_instruction("bapi", None, INSTRUCTION, CONTEXT)
            parse_seconds += time.perf_counter() - started
            result = kind.execute(session, rendered.text, rendered.params, Deadline(10_000), OPTIONS)
            assert len(result["tables"]["DATA"]) == 5

        pool = kind.open(settings, name="bench-sap")
        with pool.connection(Deadline(10_000)) as session:
            one(session)  # logon and token fetch before timing
        started = time.perf_counter()
        for _ in range(CALLS):
            with pool.connection(Deadline(10_000)) as session:
                one(session)
        pooled = time.perf_counter() - started
        pooled_parse = parse_seconds
        opened = pool.stats()["opened"]
        pool.close()

        parse_seconds = 0.0
        started = time.perf_counter()
        for _ in range(CALLS):
            session = sessions.open_session(settings, 10)
            try:
                one(session)
            finally:
                session.close()
        fresh = time.perf_counter() - started

        per_call_ms = pooled / CALLS * 1000
        parse_ms = pooled_parse / CALLS * 1000
        print(f"RFC_READ_TABLE over SOAP against mock-sap, {CALLS} calls, one thread")
        print(f"  pooled sessions:        {CALLS / pooled:8.0f} calls/s  ({per_call_ms:.2f} ms/call, {opened} logon)")
        print(f"  new session per call:   {CALLS / fresh:8.0f} calls/s  ({fresh / CALLS * 1000:.2f} ms/call)")
        print(f"  pooled / new session:   {fresh / pooled:8.1f}x")
        print(f"  parse + render per call: {parse_ms * 1000:7.0f} µs  ({parse_ms / per_call_ms:.1%} of a pooled call)")
        convert_ms = conversion_ms()
        print(
            f"  RFC type conversion:    {convert_ms * 1000:8.0f} µs  ({convert_ms / per_call_ms:.1%} of a pooled call)"
        )
    finally:
        mock.stop()


if __name__ == "__main__":
    main()
