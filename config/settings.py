"""erpflow settings: every value comes from an environment variable with a typed reader.

The defaults make ``make run`` work on a fresh machine with no servers (SQLite and Celery's
filesystem transport under ``var/``). With ``DEBUG=0`` nothing insecure is defaulted: the
secret key, the encryption keys and the allowed hosts must be given.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.database import database_from_url
from config.env import env_bool, env_int, env_list, env_str, generated_secret, new_secret_key
from config.hosts import refuse_one_host_pieces
from config.keys import generate_key, validate_keys
from config.production import refuse_weak_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ERPFLOW_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", True)
# One of several hosts (web servers and workers on different machines): refuse, before anything is
# written under var/, every default that keeps state on this host's disk or in one process (config/hosts.py).
ERPFLOW_MULTI_HOST = env_bool("ERPFLOW_MULTI_HOST", False)
if ERPFLOW_MULTI_HOST:
    refuse_one_host_pieces(env_str)


def _required_in_production(name: str, dev_default):
    value = env_str(name)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} is required when DEBUG is off")
    return dev_default()


def _dev_encryption_key() -> str:
    return generated_secret(VAR_DIR, "encryption.key", generate_key)


SECRET_KEY = _required_in_production("SECRET_KEY", lambda: generated_secret(VAR_DIR, "secret.key", new_secret_key))
if not DEBUG:
    refuse_weak_secret_key(SECRET_KEY)
ERPFLOW_ENCRYPTION_KEYS = [
    key.strip() for key in _required_in_production("ERPFLOW_ENCRYPTION_KEYS", _dev_encryption_key).split(",")
]
validate_keys(ERPFLOW_ENCRYPTION_KEYS)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else None)
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS is required when DEBUG is off")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_filters",
    "core",
    "accounts",
    "connectors",
    "flows",
    "managed",
    "audit",
    "alerts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "core.middleware.QueryStringGuardMiddleware",
    "audit.middleware.AuditActorMiddleware",
    "core.lazy_messages.LazyMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.organization",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL"), VAR_DIR / "erpflow.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("ERPFLOW_MAX_REQUEST_BYTES", 4 * 1024 * 1024, minimum=1024)
# API requests per minute, counted in Redis (accounts/ratelimit.py): per organization and per API token.
ERPFLOW_RATE_LIMIT_ORGANIZATION = env_int("ERPFLOW_RATE_LIMIT_ORGANIZATION", 1000, minimum=1)
ERPFLOW_RATE_LIMIT_TOKEN = env_int("ERPFLOW_RATE_LIMIT_TOKEN", 600, minimum=1)

# Security headers and cookies: strict whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.IsOrganizationMember"],
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["core.ratelimit.OrganizationRateThrottle"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.QuickNegotiation",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# The API documentation (/api/docs/): the description, tags and each operation's summary come from one
# table, core/openapi.py; Redoc uses the system's fonts, so the page asks no other host for any.
_SYSTEM_FONTS = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
SPECTACULAR_SETTINGS = {
    "TITLE": "erpflow API",
    "VERSION": "1",
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.openapi.describe"],
    "REDOC_UI_SETTINGS": {
        "expandResponses": "200,201,202",
        "theme": {"typography": {"fontFamily": _SYSTEM_FONTS, "headings": {"fontFamily": _SYSTEM_FONTS}}},
    },
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: one task per execution, acknowledged only after it finished, never lost with a worker.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    # "filesystem://" is erpflow's variant of kombu's transport, registered in config/celery.py: kombu's own
    # lets the worker read a message before it is written and die of it (config/broker.py).
    _queue_dir = VAR_DIR / "broker"
    for _sub in ("in", "processed", "control"):
        (_queue_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir / "in"),
        "data_folder_out": str(_queue_dir / "in"),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        # How long an idle worker sleeps between looks at the folder (kombu's default, 1 s, would add
        # half a second on average before a triggered execution starts).
        "polling_interval": 0.05,
    }
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_POOL = "threads"
CELERY_WORKER_CONCURRENCY = env_int("ERPFLOW_WORKER_CONCURRENCY", 8, minimum=1)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connection before and after every task unless this is set;
# config/celery.py recycles connections the way Django does between requests instead (CONN_MAX_AGE).
CELERY_DB_REUSE_MAX = 1_000_000

# Worker heartbeat read by /healthz: a worker writes it, the check reads its age.
ERPFLOW_WORKER_HEARTBEAT_SECONDS = env_int("ERPFLOW_WORKER_HEARTBEAT_SECONDS", 15, minimum=1)

# Logs: JSON lines (LOG_FORMAT=json) or plain text, each record with the execution it was logged in
# (config/logging.py). Celery workers keep this handler instead of installing their own.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'plain' or 'json', got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"execution": {"()": "config.logging.ExecutionContextFilter"}},
    "formatters": {
        "plain": {"()": "config.logging.PlainFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["execution"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # Celery's line per task received and per task succeeded repeats what the engine logs for each
    # execution, and the sweeps run every few seconds: kept to problems unless LOG_LEVEL asks for more.
    "loggers": {
        name: {"level": env_str("LOG_LEVEL", "WARNING")} for name in ("celery.app.trace", "celery.worker.strategy")
    },
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Flows engine: execution heartbeats and leases, the vanished-worker watchdog, retention, output cap.
ERPFLOW_EXECUTION_HEARTBEAT_SECONDS = env_int("ERPFLOW_EXECUTION_HEARTBEAT_SECONDS", 5, minimum=1)
ERPFLOW_EXECUTION_VANISHED_SECONDS = env_int("ERPFLOW_EXECUTION_VANISHED_SECONDS", 900, minimum=1)
# A Redis broker can lose a message (a worker killed between taking it and recording it as unacked), so
# the database decides: executions queued this long without a worker, or running without a heartbeat,
# are sent again (a duplicate delivery is discarded by the claim). Checked every _SWEEP_SECONDS.
ERPFLOW_EXECUTION_STRANDED_SECONDS = env_int("ERPFLOW_EXECUTION_STRANDED_SECONDS", 120, minimum=1)
ERPFLOW_STRANDED_SWEEP_SECONDS = env_int("ERPFLOW_STRANDED_SWEEP_SECONDS", 30, minimum=1)
ERPFLOW_EXECUTION_RETENTION_DAYS = env_int("ERPFLOW_EXECUTION_RETENTION_DAYS", 14, minimum=1)
ERPFLOW_AUDIT_RETENTION_DAYS = env_int("ERPFLOW_AUDIT_RETENTION_DAYS", 365, minimum=1)
ERPFLOW_STEP_OUTPUT_MAX_BYTES = env_int("ERPFLOW_STEP_OUTPUT_MAX_BYTES", 256 * 1024, minimum=1024)
ERPFLOW_STEP_RECORD_SYNCHRONOUS = env_bool("ERPFLOW_STEP_RECORD_SYNCHRONOUS", False)
# Flow control: a delay or a retry's wait up to _INLINE_WAIT_SECONDS sleeps in the worker; a longer one
# parks the execution in the database, released when due by a countdown or by the sweep every
# _WAITING_SWEEP_SECONDS. Call-flow steps nest at most _MAX_CALL_DEPTH deep.
ERPFLOW_INLINE_WAIT_SECONDS = env_int("ERPFLOW_INLINE_WAIT_SECONDS", 5, minimum=0)
# A trigger that waits for its result runs the flow in the web process that received it (flows.eager)
# instead of hopping through Celery; off, every execution goes to the workers.
ERPFLOW_EAGER_EXECUTION = env_bool("ERPFLOW_EAGER_EXECUTION", True)
ERPFLOW_WAITING_SWEEP_SECONDS = env_int("ERPFLOW_WAITING_SWEEP_SECONDS", 5, minimum=1)
ERPFLOW_MAX_CALL_DEPTH = env_int("ERPFLOW_MAX_CALL_DEPTH", 5, minimum=1)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A killed worker's unacknowledged execution goes back to the queue once it is older than the
    # visibility timeout; workers look for such messages every ERPFLOW_BROKER_RESTORE_SECONDS.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("ERPFLOW_BROKER_VISIBILITY_SECONDS", 600, minimum=1),
        "unacked_restore_interval": env_int("ERPFLOW_BROKER_RESTORE_SECONDS", 10, minimum=1),
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": 10,  # a worker killed during a restore sweep must not block sweeps for long
    }
CELERY_BEAT_SCHEDULE = {
    "flows-fail-vanished": {"task": "flows.tasks.fail_vanished", "schedule": 60.0},
    "flows-resend-stranded": {"task": "flows.tasks.resend_stranded", "schedule": float(ERPFLOW_STRANDED_SWEEP_SECONDS)},
    "flows-resume-waiting": {"task": "flows.tasks.resume_waiting", "schedule": float(ERPFLOW_WAITING_SWEEP_SECONDS)},
    "flows-prune-executions": {"task": "flows.tasks.prune_executions", "schedule": 3600.0},
    "audit-prune-log": {"task": "audit.tasks.prune_audit_log", "schedule": 86400.0},
    "alerts-check-silence": {"task": "alerts.tasks.check_silent_rules", "schedule": 60.0},
}

# Flow triggers: the largest request a trigger accepts (413 above it), the queue executions are sent to
# (run a worker with `-Q <name>` when it is not Celery's default), and the schedule task workers must know.
ERPFLOW_MAX_PAYLOAD_BYTES = env_int("ERPFLOW_MAX_PAYLOAD_BYTES", 4 * 1024 * 1024, minimum=1024)
ERPFLOW_EXECUTION_QUEUE = env_str("ERPFLOW_EXECUTION_QUEUE", "celery")
# The stranded-execution sweep runs on the workers that run executions, whatever their queue.
CELERY_TASK_ROUTES = {
    "flows.tasks.resend_stranded": {"queue": ERPFLOW_EXECUTION_QUEUE},
    "flows.tasks.resume_waiting": {"queue": ERPFLOW_EXECUTION_QUEUE},
}
CELERY_IMPORTS = ("flows.schedules",)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] = {
    "ExecutionStatusEnum": "flows.models.Execution.Status",
    "StepRunStatusEnum": "flows.models.StepRun.Status",
    "EventTypeEnum": "flows.models.EVENT_TYPES",
}

# Connectors: the folder of SQLite connectors' files (each organization opens files only in its own
# folder in it, org-<id>/, never the app's own database), and how often each process publishes its
# live pool statistics (to Redis, else to the database) for the API.
ERPFLOW_DATA_DIR = Path(env_str("ERPFLOW_DATA_DIR", str(VAR_DIR / "data")))
ERPFLOW_POOL_STATS_SECONDS = env_int("ERPFLOW_POOL_STATS_SECONDS", 5, minimum=1)


# Network policy: where connectors may connect (the rules: connectors/egress/policy.py). Comma-separated lists.
# ALLOWED_NETWORKS: CIDRs every connector may reach, loopback and link-local included (never cloud metadata).
# PRIVATE_NETWORKS: when set, the only non-public ranges connectors may reach (besides ALLOWED_NETWORKS).
# ALLOW_INTERNAL: host:port of erpflow's own database, Redis or broker that connectors may reach all the same.
def _egress_list(name: str, kind: str) -> list[str]:
    values = env_list(name)
    for value in values:
        try:
            if kind == "network":
                ipaddress.ip_network(value, strict=False)
            elif not urlsplit("//" + value).hostname or urlsplit("//" + value).port is None:
                raise ValueError("expected host:port")
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name}: {value!r} is not a valid {kind} ({exc})") from None
    return values


ERPFLOW_EGRESS_ALLOWED_NETWORKS = _egress_list("ERPFLOW_EGRESS_ALLOWED_NETWORKS", "network")
ERPFLOW_EGRESS_PRIVATE_NETWORKS = _egress_list("ERPFLOW_EGRESS_PRIVATE_NETWORKS", "network")
ERPFLOW_EGRESS_ALLOW_INTERNAL = _egress_list("ERPFLOW_EGRESS_ALLOW_INTERNAL", "host:port")
# Alerts (alerts/): e-mail through Django's mail backend (the console under DEBUG, SMTP otherwise), and the
# address erpflow is served at, for absolute links to executions in alerts and handler payloads.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "erpflow@localhost")
ERPFLOW_PUBLIC_URL = (env_str("ERPFLOW_PUBLIC_URL") or "").rstrip("/")
if ERPFLOW_PUBLIC_URL and (
    urlsplit(ERPFLOW_PUBLIC_URL).scheme not in ("http", "https") or not urlsplit(ERPFLOW_PUBLIC_URL).hostname
):
    raise ImproperlyConfigured(f"ERPFLOW_PUBLIC_URL must be an http(s) address, got {ERPFLOW_PUBLIC_URL!r}")
