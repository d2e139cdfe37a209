"""The app started exactly as `make run` starts it: temp var/, SQLite, filesystem broker, real worker; and
stopped as a developer stops it, with Ctrl-C in the terminal."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

import pytest

from tests.accounts.embedded import running_app, session_members, wait_for

SHUTDOWN_BOUND = 10  # seconds from Ctrl-C until no process of `make run` is left


@pytest.mark.slow
def test_make_run_serves_the_login_and_the_dashboard_and_ctrl_c_stops_every_process_within_10_s(tmp_path):
    with running_app(tmp_path) as app:
        password = app.password()
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def get(path):
            try:
                return opener.open(app.base + path, timeout=5)
            except OSError:
                return None

        login = wait_for(lambda: get("/login/"), 60, "the web server")
        page = login.read().decode()
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"username": "admin", "password": password, "csrfmiddlewaretoken": csrf})
        dashboard = opener.open(
            urllib.request.Request(app.base + "/login/", data=form.encode(), headers={"Referer": app.base})
        )
        body = dashboard.read().decode()
        assert dashboard.url.rstrip("/") == app.base
        assert "Demo Company" in body and "Getting started" in body

        health = app.healthy(60)
        assert health["checks"]["database"]["detail"] == "sqlite"
        assert health["checks"]["broker"]["ok"]
        assert (tmp_path / "erpflow.sqlite3").exists()
        assert (tmp_path / "encryption.key").exists()

        assert len(session_members(app.process.pid)) > 1, "bin/run and the processes it supervises"
        left = app.ctrl_c(within=SHUTDOWN_BOUND)
        assert left == [], f"still running {SHUTDOWN_BOUND} s after Ctrl-C: {left}\n{app.read_log()[-3000:]}"
        assert app.process.returncode is not None
