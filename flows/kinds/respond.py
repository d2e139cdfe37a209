"""Respond: sets what a waiting REST trigger or webhook caller receives, before the flow ends.

The first respond step that runs answers the caller (later ones are recorded but change nothing
the caller sees). Its status, headers and body become the HTTP answer as they are; without a
respond step a waited trigger answers with the execution, as before. Header values are rendered
text and may not hold line breaks (no header injection); headers that belong to the transport
(length, encoding, connection) cannot be set.
"""

from __future__ import annotations

import re
from typing import Any

from expressions.values import interpolate, value_of, value_problem
from flows.kinds.base import Call, Kind, Report, StepFailed

HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
RESERVED_HEADERS = {
    "connection",
    "content-length",
    "transfer-encoding",
    "keep-alive",
    "upgrade",
    "te",
    "trailer",
    "proxy-connection",
    "set-cookie",
    "location",
    "x-correlation-id",
}
MAX_HEADERS = 50


class RespondKind(Kind):
    key, label = "respond", "Respond"
    retries = False

    def normalize(self, step: dict) -> None:
        step.setdefault("status", 200)
        step.setdefault("headers", {})
        step.setdefault("body", "")

    def check(self, step: dict, report: Report) -> None:
        status = step["status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            report("status", "the status must be a whole number from 200 to 599.")
        headers = step["headers"]
        if not isinstance(headers, dict):
            report("headers", "the headers must be an object of names to texts.")
        else:
            if len(headers) > MAX_HEADERS:
                report("headers", f"at most {MAX_HEADERS} headers.")
            for name, value in headers.items():
                if not HEADER_NAME.match(name):
                    report("headers", f"'{name[:40]}' is not a valid header name.")
                elif name.lower() in RESERVED_HEADERS:
                    report("headers", f"the header '{name}' is set by erpflow and cannot be set by a flow.")
                elif not isinstance(value, str):
                    report("headers", f"the header '{name}' must be text (it may hold {{{{ }}}} expressions).")
        body = step["body"]
        if not isinstance(body, str):
            report("body", "the body must be an expression (text).")
        elif body.strip():
            problem = value_problem(body)
            if problem:
                report("body", f"the body: {problem}.")

    def run(self, call: Call) -> Any:
        step = call.step
        headers = {}
        for name, template in step["headers"].items():
            value = interpolate(template, call.context)
            if "\r" in value or "\n" in value:
                raise StepFailed(f"The value of header '{name}' holds a line break; a header value must be one line.")
            headers[name] = value
        body = value_of(step["body"], call.context, call.deadline.remaining_ms()) if step["body"].strip() else None
        response = {"status": step["status"], "headers": headers, "body": body}
        answered = call.delivery.respond(response)
        return {**response, "answered": answered}
