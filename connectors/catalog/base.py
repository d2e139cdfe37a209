"""The contract every connector type implements, and the values that cross it.

A type is one class in one module of this package, registered with ``@register``. It declares
its settings fields once; forms, serializers, the catalog API and the canvas editor are all
derived from ``fields``. Drivers are imported inside the methods that use them, so the catalog
lists a type even where its driver is missing, and using it says which extra to install.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from expressions.budgets import OutOfTime


DEFAULT_RETRY_ON = {
    "timeout": True,
    "connection": True,
    "http_status": [429, 502, 503, 504],
    "sap_messages": [],
    "db_errors": ["serialization_failure", "deadlock"],
}


@dataclass(frozen=True)
class Failure:
    """What kind of failure a call had, for retry policies (provisional: helper B completes it)."""

    category: str
    http_status: int | None = None
    retry_after_s: float | None = None
    sap_message: str | None = None
    db_error: str | None = None


def retryable(failure: Failure, on: dict) -> bool:
    if failure.category in ("timeout", "connection"):
        return bool(on.get(failure.category))
    if failure.category == "http_status":
        return failure.http_status in (on.get("http_status") or [])
    if failure.category == "database":
        return failure.db_error in (on.get("db_errors") or [])
    if failure.category == "sap_message":
        return failure.sap_message in (on.get("sap_messages") or [])
    return False


def retry_on_problems(on) -> list[str]:
    if not isinstance(on, dict):
        return ["it must be an object."]
    unknown = sorted(set(on) - set(DEFAULT_RETRY_ON))
    return [f"unknown categories: {', '.join(unknown)}."] if unknown else []


class ConnectorError(Exception):
    """A call or a connection failed; the message is shown to users, so it never holds a secret.

    ``partial_output``: what the call had produced before it failed (SAP's messages and exports of
    a BAPI that answered E), or None; a flow step with Ignore Errors passes it on to later steps.
    """

    partial_output: dict | None = None
    failure: Failure | None = None


class StepTimeout(ConnectorError, OutOfTime):
    """The deadline passed: waiting for a pooled connection or the call itself took too long."""


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
