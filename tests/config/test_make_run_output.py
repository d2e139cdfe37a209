"""What `make run` prints: a short start-up without an ERROR line, ending with a box that says where to
sign in and, on the first start only, the admin's password."""

from __future__ import annotations

import re
import time

import pytest

from tests.accounts.embedded import running_app, wait_for

pytestmark = pytest.mark.slow

MAX_LINES = 40


def started(app) -> str:
    """The output once the box is out, and a few seconds more to show that nothing follows it."""
    wait_for(lambda: re.search(r"^\+-+\+\n(?:\|.*\|\n)+\+-+\+$", app.read_log(), re.M), 120, "the box")
    time.sleep(3)
    return app.read_log()


def box(output: str) -> list[str]:
    """The lines inside the last box, which must end the output."""
    lines = output.rstrip("\n").splitlines()
    assert re.fullmatch(r"\+-+\+", lines[-1]), f"the output does not end with the box:\n{output}"
    top = max(i for i, line in enumerate(lines[:-1]) if re.fullmatch(r"\+-+\+", line))
    inside = lines[top + 1 : -1]
    assert all(line.startswith("| ") and line.endswith(" |") for line in inside), output
    assert len({len(line) for line in lines[top:]}) == 1, "the box's sides line up"
    return [line[2:-2].rstrip() for line in inside]


def test_the_first_start_ends_with_the_credentials_in_a_box_and_a_restart_with_where_to_sign_in(tmp_path):
    with running_app(tmp_path) as app:
        first = started(app)
        app.ctrl_c()
    assert len(first.splitlines()) < MAX_LINES, first
    assert "ERROR" not in first, first
    assert "Traceback" not in first, first
    inside = box(first)
    assert inside[0] == "erpflow is ready."
    assert f"Open {app.base}/ and sign in." in inside
    assert "  Username: admin" in inside
    password = next(line.split(": ", 1)[1] for line in inside if line.startswith("  Password: "))
    assert len(password) >= 12
    assert first.count(password) == 1, "the password is printed once, in the box"
    assert inside[-1] == "Ctrl-C stops erpflow."

    with running_app(tmp_path) as again:
        second = started(again)
    assert "ERROR" not in second, second
    inside = box(second)
    assert inside == ["erpflow is ready.", f"Open {again.base}/ and sign in.", "Ctrl-C stops erpflow."]
    assert "Password" not in second
