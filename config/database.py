"""``DATABASE_URL`` to Django's DATABASES entry, for the two engines erpflow supports."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

# A transaction takes SQLite's write lock when it begins: one that read first and wrote later could
# not wait for another writer (SQLite answers "database is locked" at once, where waiting could
# deadlock), so the processes of ``make run`` (web, worker, beat) starting together failed that way.
# Every writer now waits its turn, up to ``timeout`` seconds.
SQLITE_OPTIONS = {"timeout": 20, "transaction_mode": "IMMEDIATE"}


def database_from_url(url: str | None, default_sqlite: Path) -> dict:
    if not url:
        default_sqlite.parent.mkdir(parents=True, exist_ok=True)
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(default_sqlite),
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if path.startswith("//"):
            path = path[1:]
        elif path.startswith("/"):
            path = path[1:] or ":memory:"
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": dict(SQLITE_OPTIONS)}
    if parts.scheme in ("postgres", "postgresql"):
        options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        options["prepare_threshold"] = _prepare_threshold(options.get("prepare_threshold", "5"))
        return {
            "ENGINE": "config.postgresql",
            "NAME": unquote(parts.path.lstrip("/")),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL has an unsupported scheme {parts.scheme!r}: use postgresql://... or sqlite:///path"
    )


def _prepare_threshold(text: str) -> int | None:
    """After how many runs on a connection psycopg prepares a statement bound on the server
    (``core.bound_statements``); ``none`` turns preparing off, for a pooler that cannot keep them."""
    if text.strip().lower() in ("", "none", "off"):
        return None
    try:
        threshold = int(text)
    except ValueError:
        threshold = -1
    if threshold < 0:
        raise ImproperlyConfigured(
            f"DATABASE_URL's prepare_threshold must be a whole number of runs (0 or more) or none; got {text!r}"
        )
    return threshold
