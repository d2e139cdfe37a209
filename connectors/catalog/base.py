"""The contract every connector type implements, and the values that cross it.

A type is one class in one module of this package, registered with ``@register``. It declares
its settings fields once; forms, serializers, the catalog API and the canvas editor are all
derived from ``fields``. Drivers are imported inside the methods that use them, so the catalog
lists a type even where its driver is missing, and using it says which extra to install.
"""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Protocol

from expressions.budgets import OutOfTime

# -- what kind of failure a call had, for retry policies -----------------------------------------

CATEGORIES = ("timeout", "connection", "http_status", "sap_message", "database", "other")
# Database errors in one vocabulary, whatever the driver: each type maps its own codes onto these
# (SQLSTATE 40001, MariaDB 1213, ORA-00060, SQLITE_BUSY, ...) and keeps the raw code beside.
DB_ERRORS = (
    "serialization_failure",
    "deadlock",
    "lock_timeout",
    "unique_violation",
    "foreign_key_violation",
    "not_null_violation",
    "check_violation",
    "undefined_table",
    "syntax_error",
    "other",
)


@dataclass(frozen=True)
class Failure:
    """What kind of failure a call had, so a retry policy can tell a busy server from a bad request.

    ``category`` is one of ``CATEGORIES``; the other fields say more where the category has more:
    the HTTP status and the wait the server asked for (``Retry-After``, in seconds), the SAP
    message that failed the call as ``CLASS/NUMBER`` (``V1/302``), the database error in
    ``DB_ERRORS``' words with the driver's own code (SQLSTATE, vendor number, ``ORA-``, SQLite name).
    """

    category: str
    http_status: int | None = None
    retry_after_s: float | None = None
    sap_message: str | None = None
    db_error: str | None = None
    db_code: str | None = None

    def as_dict(self) -> dict:
        """The fields that say something, for a step's record."""
        return {name: value for name, value in asdict(self).items() if value is not None}


TIMED_OUT = Failure("timeout")
CONNECTION = Failure("connection")
OTHER = Failure("other")


class ConnectorError(Exception):
    """A call or a connection failed; the message is shown to users, so it never holds a secret.

    ``partial_output``: what the call had produced before it failed (SAP's messages and exports of
    a BAPI that answered E), or None; a flow step with Ignore Errors passes it on to later steps.
    ``failure``: what kind of failure it was (see ``Failure``), set where it is raised; None when
    nothing more is known than the message, which a retry policy reads as "other".
    """

    partial_output: dict | None = None
    failure: Failure | None = None

    def __init__(self, *args: Any, failure: Failure | None = None):
        super().__init__(*args)
        if failure is not None:
            self.failure = failure


class StepTimeout(ConnectorError, OutOfTime):
    """The deadline passed: waiting for a pooled connection or the call itself took too long."""

    failure = TIMED_OUT


def failure_of(exc: BaseException) -> Failure:
    """The failure a step's exception stands for: a connector error's own, a timeout for any step
    that ran out of time (a mapping's too), "other" for the rest (a bad expression, say)."""
    found = getattr(exc, "failure", None)
    if isinstance(found, Failure):
        return found
    return TIMED_OUT if isinstance(exc, OutOfTime) else OTHER


# -- what a retry policy retries on --------------------------------------------------------------

RETRY_ON_DEFAULTS: dict[str, Any] = {
    "timeout": True,
    "connection": True,
    "http_status": [429, 502, 503, 504],
    "sap_messages": [],
    "db_errors": ["serialization_failure", "deadlock"],
}
MAX_RETRY_ON_ENTRIES = 100
SAP_MESSAGE = re.compile(r"^(?P<klass>[A-Z0-9_/]{1,20})/(?P<number>[0-9]{1,3}|\*)$")


def retry_on(given: Any) -> tuple[dict, dict[str, str]]:
    """A retry policy's ``on`` with the defaults filled in, and a message per entry that is wrong.

    ``on`` is an object: ``timeout`` and ``connection`` (true or false), ``http_status`` (statuses
    from 400 to 599), ``sap_messages`` (``CLASS/NUMBER`` or ``CLASS/*``, such as ``V1/302``) and
    ``db_errors`` (names of ``DB_ERRORS``). SAP message classes come back in upper case and numbers
    with three digits, as BAPIRET2 writes them.
    """
    if given is None:
        given = {}
    if not isinstance(given, dict):
        return dict(RETRY_ON_DEFAULTS), {"on": 'must be an object such as {"timeout": true, "http_status": [503]}'}
    values, errors = {}, {}
    for name in given:
        if name not in RETRY_ON_DEFAULTS:
            errors[str(name)] = "unknown entry (known: " + ", ".join(RETRY_ON_DEFAULTS) + ")"
    for name, default in RETRY_ON_DEFAULTS.items():
        value = given.get(name, default)
        if name in ("timeout", "connection"):
            if isinstance(value, bool):
                values[name] = value
            else:
                errors[name] = "must be true or false"
            continue
        if not isinstance(value, list):
            errors[name] = "must be a list"
            continue
        if len(value) > MAX_RETRY_ON_ENTRIES:
            errors[name] = f"may hold at most {MAX_RETRY_ON_ENTRIES} entries; it holds {len(value)}"
            continue
        checked = []
        for index, entry in enumerate(value):
            normal, problem = _retry_entry(name, entry)
            if problem:
                errors[f"{name}[{index}]"] = problem
            else:
                checked.append(normal)
        values[name] = checked
    return values, errors


def _retry_entry(name: str, entry: Any) -> tuple[Any, str | None]:
    shown = repr(entry)[:40]
    if name == "http_status":
        if isinstance(entry, int) and not isinstance(entry, bool) and 400 <= entry <= 599:
            return entry, None
        return None, f"{shown} is not an HTTP error status (a whole number from 400 to 599)"
    if name == "db_errors":
        if entry in DB_ERRORS:
            return entry, None
        return None, f"{shown} is not a database error erpflow tells apart (known: {', '.join(DB_ERRORS)})"
    found = SAP_MESSAGE.match(entry.strip().upper()) if isinstance(entry, str) else None
    if found is None:
        return None, f"{shown} is not an SAP message as CLASS/NUMBER or CLASS/*, such as V1/302 or V1/*"
    number = found["number"]
    return f"{found['klass']}/{number if number == '*' else number.zfill(3)}", None


def retryable(failure: Failure | None, on: Any = None) -> bool:
    """Whether a retry policy with this ``on`` (see ``retry_on``; None: the defaults) retries after
    ``failure``. A failure of category "other", or none, is never retried. ValueError for a bad ``on``."""
    values, errors = retry_on(on)
    if errors:
        raise ValueError("; ".join(f"{name}: {message}" for name, message in errors.items()))
    if failure is None:
        return False
    category = failure.category
    if category in ("timeout", "connection"):
        return values[category]
    if category == "http_status":
        return failure.http_status in values["http_status"]
    if category == "database":
        return failure.db_error in values["db_errors"]
    if category == "sap_message" and failure.sap_message:
        klass, _, number = failure.sap_message.rpartition("/")
        return any(pattern in (f"{klass}/{number}", f"{klass}/*") for pattern in values["sap_messages"])
    return False


# -- what a step calls with ---------------------------------------------------------------------


class DriverMissing(ConnectorError):
    """The type's driver is not installed; the message names the pip extra that provides it."""


class PoolExhausted(StepTimeout):
    """Every connection of the pool stayed in use until the deadline."""

    def __init__(self, in_use: int, size: int, waited_ms: float):
        super().__init__(f"pool exhausted: {in_use} of {size} in use after {waited_ms:.0f} ms")


class Deadline:
    """An absolute point in time (monotonic clock) that a step must finish by."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        self.at = time.monotonic() + timeout_ms / 1000

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - time.monotonic())

    def remaining_ms(self) -> int:
        return int(self.remaining() * 1000)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.at


@dataclass(frozen=True)
class Field:
    """One setting of a connector type; ``kind`` is str, text, int, bool, choice, path or url."""

    name: str
    label: str
    help: str = ""
    kind: str = "str"
    required: bool = False
    secret: bool = False
    default: Any = None
    choices: tuple[tuple[str, str], ...] = ()
    min: int | None = None
    max: int | None = None
    group: str = "connection"
    # Where the connection goes (a host, a port, a URL): changing it makes saved secrets be entered again,
    # so an editor cannot redirect a stored password to a server of their own.
    destination: bool = False
    # Only an admin or owner may change it (network allowlists, TLS verification, CA certificates, SSL
    # modes): an editor who could widen them could point a connector at internal services, or let a
    # connection be read or impersonated on the way.
    admin_only: bool = False
    # For an admin-only setting with ordered values, weakest first (an SSL mode; TLS verification off,
    # on): a member below admin may still move it toward the strict end, just never back.
    strictness: tuple = ()

    def schema(self) -> dict:
        """The JSON description the catalog endpoint and the editor's forms are built from."""
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "kind": self.kind,
            "required": self.required,
            "secret": self.secret,
            "default": self.default,
            "choices": [{"value": v, "label": label} for v, label in self.choices],
            "min": self.min,
            "max": self.max,
            "group": self.group,
            "destination": self.destination,
            "admin_only": self.admin_only,
        }


@dataclass
class Stage:
    """One stage of a connection test: resolve host, open TCP, TLS, authenticate, query, ..."""

    name: str
    ok: bool
    duration_ms: float
    message: str = ""


@dataclass
class TestResult:
    """What ``test`` answers; a failed test is an answer, never an exception."""

    ok: bool
    message: str
    stages: list[Stage] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "message": self.message,
            "stages": [vars(stage) for stage in self.stages],
        }


class Pool(Protocol):
    """What ``ConnectorType.open`` returns: live connections to lend, with the pool's own bookkeeping."""

    def connection(self, deadline: Deadline) -> AbstractContextManager[Any]:
        """Lend a working connection; waiting for one counts inside ``deadline`` (``PoolExhausted`` after it)."""

    def stats(self) -> dict[str, int]:
        """Live counts: see ``pool_stats`` for the names."""

    def close(self) -> None:
        """Close every connection; connections still lent out close when they come back."""


def pool_stats(**counts: int) -> dict[str, int]:
    """The stats every pool reports, in one order, missing counts as 0."""
    names = ("size", "idle", "in_use", "waiting", "opened", "closed", "errors", "min_idle", "max_size")
    return {name: int(counts.get(name, 0)) for name in names}


# Not a field: the id of the organization the settings belong to. ``connectors.values`` adds it to what
# ``check``, ``test`` and ``open`` receive for a type with ``per_organization`` (a field cannot have this name:
# incoming settings with unknown names are refused).
ORGANIZATION = "_organization"


class ConnectorType:
    """Base class of the catalog's types; subclasses set the class attributes and the three methods."""

    key: ClassVar[str]
    label: ClassVar[str]
    category: ClassVar[str]  # "database", "erp", "http"
    icon: ClassVar[str]  # a name from static/icons/
    description: ClassVar[str] = ""
    language: ClassVar[str]  # instruction language: "sql", "bapi", "http"
    paramstyle: ClassVar[str | None] = None  # for SQL types: "pyformat", "named", "qmark", "format"
    # For SQL types: how the database reads quotes and comments, so the check before saving and the
    # rendering find each {{ }} where the database does ("postgresql", "mysql", "oracle", "sqlite";
    # see instructions.sql).
    sql_dialect: ClassVar[str | None] = None
    extra: ClassVar[str | None] = None  # the pip extra that installs the driver
    fields: ClassVar[tuple[Field, ...]] = ()
    # Per-step switches of this type's calls (commit after a BAPI, warnings as errors, ...); the step
    # form, graph validation and ``execute`` read them from here, like ``fields`` for settings.
    step_options: ClassVar[tuple[Field, ...]] = ()
    # Whether the settings mean something different per organization (SQLite: a path inside the
    # organization's own folder); then they carry ``ORGANIZATION``.
    per_organization: ClassVar[bool] = False

    def check(self, values: dict) -> dict[str, str]:
        """Rules across fields (minimum idle within the pool size, a path inside its folder, ...).

        Called with the stored values before saving (secrets and unresolved references left out, so
        any key may be missing) and again with the resolved values before use; answers field name to
        message for each problem.
        """
        return {}

    def derived_secrets(self, settings: dict) -> list[str]:
        """Credentials the type builds from its resolved settings and sends (base64 of ``user:password``,
        a header made of a plain setting): a server may echo them, so they are masked like the secrets."""
        return []

    def test(self, settings: dict) -> TestResult:
        """Try the settings end to end, stage by stage; never raises."""
        raise NotImplementedError

    def open(self, settings: dict, *, name: str = "erpflow") -> Pool:
        """A pool for these (already resolved and validated) settings; ``name`` marks its connections
        on the server where the driver allows it (PostgreSQL's application_name, for instance)."""
        raise NotImplementedError

    def execute(self, client, instruction, params: dict, deadline: Deadline, options: dict) -> Any:
        """Run one instruction with bound parameters on a connection lent by the pool, before the
        deadline, cancelling it on the server when the deadline passes; returns JSON-able output.
        ``options`` holds every ``step_options`` value, defaults filled in (see ``step_option_values``)."""
        raise NotImplementedError

    def execute_many(
        self, client, instruction: str, rows: list[dict], deadline: Deadline, options: dict, batch_size: int
    ) -> dict:
        """Run one instruction once per set of bound parameters, all in one transaction, ``batch_size``
        sets per round trip, before the deadline; ``{"rows_affected": N, "batches": k}``. An error rolls
        every row back. Only the SQL types can (``connectors.catalog.database.BulkRows``)."""
        raise ConnectorError(f"a {self.label} step cannot run once per row: for_each_row is for SQL databases")

    @classmethod
    def step_option_values(cls, given: Any) -> tuple[dict, dict[str, str]]:
        """A step's options with defaults filled in, and a message per option that is wrong."""
        if given is None:
            given = {}
        if not isinstance(given, dict):
            return {}, {"options": "the options must be an object of option name to value"}
        known = {option.name: option for option in cls.step_options}
        values, errors = {}, {}
        for name in given:
            if name not in known:
                offered = ", ".join(known) or "none"
                errors[name] = f"unknown option for a {cls.label} step (options: {offered})"
        for name, option in known.items():
            value = given.get(name, option.default)
            problem = _option_problem(option, value)
            if problem:
                errors[name] = problem
            else:
                values[name] = value
        return values, errors

    @classmethod
    def describe(cls) -> dict:
        return {
            "key": cls.key,
            "label": cls.label,
            "category": cls.category,
            "icon": cls.icon,
            "description": cls.description,
            "language": cls.language,
            "extra": cls.extra,
            "fields": [f.schema() for f in cls.fields],
            "step_options": [f.schema() for f in cls.step_options],
        }


def _option_problem(option: Field, value: Any) -> str | None:
    if value is None:
        return "a value is required" if option.required else None
    if option.kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if option.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be a whole number"
        if option.min is not None and value < option.min:
            return f"must be at least {option.min}"
        if option.max is not None and value > option.max:
            return f"must be at most {option.max}"
        return None
    if not isinstance(value, str):
        return "must be text"
    if option.choices and value not in {choice for choice, _ in option.choices}:
        return "must be one of " + ", ".join(choice for choice, _ in option.choices)
    return None
