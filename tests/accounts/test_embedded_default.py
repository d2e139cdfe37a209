"""The app started exactly as `make run` starts it: temp var/, SQLite, filesystem broker, real worker."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.parse
import urllib.request

from tests.accounts.embedded import running_app, wait_for


def test_make_run_serves_the_login_and_the_dashboard(tmp_path):
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
