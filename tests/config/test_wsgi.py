"""The WSGI application loads the URL configuration as it is created, not at the first request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_creating_the_wsgi_application_imports_the_url_configuration_and_its_views():
    probe = (
        "import sys; import config.wsgi; "
        "print(all(name in sys.modules for name in ('config.urls', 'flows.api.triggers', 'flows.api.events')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=os.environ, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "True"
