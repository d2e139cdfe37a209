"""``{{ expr }}`` properties in step instructions, evaluated in a Jinja2 sandbox.

An expression sees four names, the step's *properties*:

- ``env``: the variables of the execution's environment, secrets decrypted (masked wherever logged);
- ``trigger``: ``payload``, ``headers`` and ``query`` of what started the execution;
- ``steps``: the outputs of the steps upstream of this one, by name (``steps["Get customer"]``)
  and by reference key (``steps.get_customer``, see ``flows.step_names.reference_key``; ``expressions.properties``
  builds them);
- ``execution``: ``id`` and ``correlation_id``;

and the function ``concat(a, b, ...)``; Jinja's filters, and ``alpha(n)`` (SAP's ALPHA input
conversion, zeros in front of a number). Attributes of data (dicts and lists) are its keys only:
``trigger.payload.items`` is the payload's ``items`` field, and when there is none it does not
exist, rather than being the dict method; a dict's or list's methods answer only when called
(``trigger.payload.get('a')``). An expression's value must be data: a function, a method, a range
or another object is an error naming what it is, at once, instead of failing when it is bound or stored.

The sandbox refuses every attribute starting with ``_`` and everything Jinja's sandbox refuses
(``__class__``, ``mro``, ``__globals__``, unsafe ``str.format`` fields); a refusal is an
``ExpressionError`` saying what was refused. Evaluation runs within the budgets of
``expressions.budgets``: the step's deadline, checked at every lookup, call, operator, filter and test,
and size limits checked before an operation builds a large integer, text or range. Expressions are
nested at most ``MAX_NESTING`` levels deep, so parsing and compiling them stays cheap, and Jinja's
compile-time optimizer is off: it costs time cubic in the nesting and would evaluate constant
parts outside any budget.
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

from expressions import budgets, sizes
from expressions.budgets import BudgetExceeded, check_time
from expressions.template import scan

MAX_NESTING = 64
TOO_DEEP = "is nested too deeply: at most {limit} levels of brackets, operators and filters are allowed"


class ExpressionError(Exception):
    """An expression could not be evaluated; the message names the expression and says why."""


def concat(*values: Any) -> str:
    """Join values as text: None is empty, lists and objects are written as JSON."""
    out = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, dict | list):
            out.append(json.dumps(value, ensure_ascii=False))
        else:
            out.append(str(value))
    return "".join(out)


class _Formatter(SandboxedFormatter):
    """Jinja's sandboxed ``str.format``, with each field's width and precision within the text budget."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_time()
        budgets.check_text(sizes.format_width(format_spec), "a format width")
        return super().format_field(value, format_spec)


# -- the sandbox ----------------------------------------------------------------------------------


class _Method(StrictUndefined):
    """A method of a dict or list reached as an attribute: undefined as a value (the attributes of
    data are its keys), the method when called, as in ``trigger.payload.get('a')``."""

    __slots__ = ("_method",)

    def __init__(self, method: Callable, obj: Any, name: str):
        super().__init__(obj=obj, name=name)
        self._method = method


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, stricter: no ``_`` attributes, data attributes are keys, budgets."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Refuse at once rather than yield a value that fails later (or never, inside a list)."""
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__!r} value is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_time()
        if not isinstance(obj, dict | list):
            return super().getattr(obj, attribute)
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        value = super().getattr(obj, attribute)
        return _Method(value, obj, attribute) if callable(value) else value

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_time()
        if isinstance(obj, dict | list) and isinstance(argument, str) and not argument.startswith("_"):
            try:
                return obj[argument]
            except (TypeError, LookupError):
                return self.undefined(obj=obj, name=argument)
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format`` and ``format_map`` through ``_Formatter`` (Jinja's own wrapper, another formatter)."""
        if super().wrap_str_format(value) is None:
            return None
        template, formatter = value.__self__, _Formatter(self)

        def format_map(mapping: Any) -> str:
            return formatter.vformat(template, (), mapping)

        def format(*args: Any, **kwargs: Any) -> str:  # noqa: A001 - it is str.format
            return formatter.vformat(template, args, kwargs)

        return format_map if value.__name__ == "format_map" else format

    def call(self, context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        check_time()
        if isinstance(obj, _Method):
            obj = obj._method
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            name = getattr(obj, "__name__", "")
            if name == "join" and args:
                args = (list(args[0]),)  # measured first, so a generator must not be used up by measuring
            size = sizes.str_method_size(owner, name, args, kwargs)
            if size is not None:
                budgets.check_text(size, name)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        check_time()
        if operator == "**" and sizes.is_int(left) and sizes.is_int(right) and right > 0 and abs(left) > 1:
            budgets.check_int_bits(left.bit_length() * right)
        elif operator == "*":
            if sizes.is_int(left) and sizes.is_int(right):
                budgets.check_int_bits(left.bit_length() + right.bit_length())
            sizes.check_repeat(left, right)
        elif operator == "%" and isinstance(left, str):
            sizes.check_percent(left, right)
        return super().call_binop(context, operator, left, right)


def alpha(value: Any, n: Any) -> str:
    """SAP's ALPHA input conversion: digits only are left-padded with zeros to ``n`` characters (never
    cut), anything else is left as it is, as SAP does; so ``1000001 | alpha(10)`` is ``"0001000001"``."""
    if type(n) is not int or not 1 <= n <= 64:
        raise ValueError(f"alpha(n) needs a whole number n from 1 to 64, got {n!r}")
    if type(value) is int:
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"alpha takes text or a whole number, not {type(value).__name__}")
    return value.zfill(n) if value.isascii() and value.isdigit() else value


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, optimized=False)
_ENV.globals.clear()
_ENV.globals.update({"concat": concat, "range": sizes.bounded_range, "dict": dict})
_ENV.filters["alpha"] = alpha
_ENV.filters = {name: sizes.sized_filter(name, function) for name, function in _ENV.filters.items()}
_ENV.tests = {name: sizes.budgeted(function) for name, function in _ENV.tests.items()}


class TooDeep(Exception):
    """An expression nests deeper than ``MAX_NESTING`` (or than the parser or Python's compiler can go)."""


def bracket_depth(text: str, quotes: str) -> int:
    """The deepest nesting of brackets outside string literals, counted without parsing."""
    depth = deepest = 0
    quote = None
    escaped = False
    for char in text:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in quotes:
            quote = char
        elif char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    return deepest


def _tree_depth(node: nodes.Node) -> int:
    deepest, pending = 0, [(node, 1)]
    while pending:
        current, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in current.iter_child_nodes())
    return deepest


def _parse(source: str) -> nodes.Template:
    """The syntax tree of an expression; ``TooDeep`` before the parser or the compiler recurses too far."""
    if bracket_depth(source, "'\"") > MAX_NESTING:
        raise TooDeep
    try:
        tree = _ENV.parse("{{" + source + "}}")
    except RecursionError:
        raise TooDeep from None
    if _tree_depth(tree) > MAX_NESTING + 3:  # Template, Output and the expression's own node
        raise TooDeep
    return tree


def syntax_error(source: str) -> str | None:
    """Why an expression's source does not parse, or None when it does."""
    if not source.strip():
        return "the expression {{ }} is empty"
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        return f"{{{{{source}}}}} is not a valid expression: {exc.message}"
    except TooDeep:
        return _too_deep(source)
    return None


def _too_deep(source: str) -> str:
    shown = source if len(source) <= 60 else source[:57] + "..."
    return f"{{{{{shown}}}}} " + TOO_DEEP.format(limit=MAX_NESTING)


@lru_cache(maxsize=4096)
def _compiled(source: str):
    _parse(source)
    try:
        return _ENV.compile_expression(source, undefined_to_none=False)
    except (RecursionError, SyntaxError):  # Python's compiler allows 200 nested parentheses
        raise TooDeep from None


def evaluate(source: str, context: dict) -> Any:
    """The value of one expression (without its braces) over the properties in ``context``, within the
    current time budget (``DEFAULT_TIME_MS`` outside a step) and the size budgets."""
    where = "{{" + source + "}}"
    try:
        with budgets.default_time_budget():
            value = _compiled(source)(**context)
        _check_value(value)
    except BudgetExceeded as exc:
        raise ExpressionError(f"{where} {exc}") from None
    except TooDeep:
        raise ExpressionError(_too_deep(source)) from None
    except SecurityError as exc:
        raise ExpressionError(f"{where} was refused by the expression sandbox: {exc}") from None
    except UndefinedError as exc:
        raise ExpressionError(f"{where} refers to something that does not exist: {exc}") from None
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"{where} is not a valid expression: {exc.message}") from None
    except NotData as exc:
        raise ExpressionError(f"{where} {exc}") from None
    except Exception as exc:
        raise ExpressionError(f"{where} failed: {type(exc).__name__}: {exc}") from None
    return value


class NotData(Exception):
    """An expression's value is something a step cannot bind or store (a function, a range, an object)."""


DATA_TYPES = (str, bytes, int, float, bool, type(None), decimal.Decimal, datetime.date, datetime.time)
DATA_TYPES += (datetime.timedelta, uuid.UUID)


def _check_value(value: Any, depth: int = 0) -> None:
    """Raise the error of an undefined value, or ``NotData`` for a value that is not data, also one
    nested in a list or dict the expression built."""
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises its own message here
    if isinstance(value, dict | list | tuple):
        if depth < 8:
            for item in value.values() if isinstance(value, dict) else value:
                _check_value(item, depth + 1)
        return
    if isinstance(value, DATA_TYPES):
        return
    if callable(value):
        raise NotData("is a function, not a value: call it, or leave it out")
    hint = "; add |list to make it a list" if hasattr(value, "__iter__") else ""
    raise NotData(f"is a {type(value).__name__}, not a value{hint}")


def step_references(text: str) -> list[tuple[str, int]]:
    """``(step name or key, offset)`` for every ``steps.X`` / ``steps["X"]`` in an instruction's expressions."""
    parts, _ = scan(text)
    found: list[tuple[str, int]] = []
    for part in parts:
        if not part.is_expression or syntax_error(part.text):
            continue
        tree = _parse(part.text)
        for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
            target = node.node
            if not (isinstance(target, nodes.Name) and target.name == "steps"):
                continue
            if isinstance(node, nodes.Getattr):
                found.append((node.attr, part.start))
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                found.append((node.arg.value, part.start))
    return found
