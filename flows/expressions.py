"""``{{ expr }}`` properties in step instructions, evaluated in a Jinja2 sandbox.

An expression sees four names, the step's *properties*:

- ``env``: the variables of the execution's environment, secrets decrypted (masked wherever logged);
- ``trigger``: ``payload``, ``headers`` and ``query`` of what started the execution;
- ``steps``: the outputs of the steps upstream of this one, by name (``steps["Get customer"]``)
  and by reference key (``steps.get_customer``, see ``flows.graph.reference_key``);
- ``execution``: ``id`` and ``correlation_id``;

and the function ``concat(a, b, ...)``. Attributes of data (dicts and lists) are its keys only:
``trigger.payload.items`` is the payload's ``items`` field, and when there is none it does not
exist, rather than being the dict method; a dict's or list's methods answer only when called
(``trigger.payload.get('a')``). An expression's value must be data: a function, a method, a range
or another object is an error naming what it is, at once, instead of failing when it is bound or stored.

The sandbox refuses every attribute starting with ``_`` and everything Jinja's sandbox refuses
(``__class__``, ``mro``, ``__globals__``, unsafe ``str.format`` fields); a refusal is an
``ExpressionError`` saying what was refused. Evaluation runs within the budgets of
``flows.budgets``: the step's deadline, checked at every lookup, call, operator, filter and test,
and size limits checked before an operation builds a large integer, text or range. Expressions are
nested at most ``MAX_NESTING`` levels deep, so parsing and compiling them stays cheap, and Jinja's
compile-time optimizer is off: it costs time cubic in the nesting and would evaluate constant
parts outside any budget.

SQL instructions never receive values as text: ``render_sql`` turns each ``{{ }}`` into a bind
parameter in the driver's paramstyle and escapes literal ``%`` for the ``pyformat`` style, so
whatever a payload holds, the statement text is the same.
"""

from __future__ import annotations

import datetime
import decimal
import json
import re
import threading
import uuid
from collections.abc import Callable
from functools import lru_cache, wraps
from typing import Any

import jsonata
import regex
from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jsonata import functions as jsonata_functions
from jsonata.regex_engine import RegexFlags

from accounts.crypto import MASK, wire_forms
from flows import budgets
from flows.budgets import BudgetExceeded, check_time
from flows.instructions import Rendered, renderer_for
from flows.instructions.template import position, scan

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


# -- sizes measured before an operation runs --------------------------------------------------------


def _size(value: Any, limit: int) -> int:
    """Characters and items in ``value``, counting shared parts each time they appear (as serialising
    it would); stops counting past ``limit``, so measuring costs no more than the budget."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        total += len(item) if isinstance(item, str) else 1
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return total


def _width(spec: str) -> int:
    """The largest text a format spec can ask for: the sum of its numbers (width, precision, fill)."""
    runs = re.findall(r"\d+", spec)
    if any(len(run) > 18 for run in runs):  # past any budget; int() of thousands of digits is slow itself
        return 10**18
    return sum(int(run) for run in runs)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?([#0\- +]*[\d*]*(?:\.[\d*]*)?)")


def _check_percent(template: str, args: Any) -> None:
    """``template % args`` within the text budget: widths and precisions (``*`` takes an argument's)."""
    values = args if isinstance(args, tuple) else (args,)
    star = max((abs(v) for v in values if isinstance(v, int)), default=0)
    width = sum(_width(spec) + (star if "*" in spec else 0) for spec in _PERCENT_SPEC.findall(template))
    budgets.check_text(len(template) + width + _size(args, budgets.MAX_TEXT), "a % format")


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        if isinstance(seq, str | list | tuple) and isinstance(times, int) and times > 1:
            budgets.check_text(_size(seq, budgets.MAX_TEXT // times + 1) * times, "repeating a value")


def _text_arg(args: tuple, kwargs: dict, index: int, name: str, default: Any) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _replaced_size(text: str, old: Any, new: Any, count: Any) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(0, len(new) - len(old))


def _str_method_size(text: str, name: str, args: tuple, kwargs: dict) -> int | None:
    """The size of what a ``str`` method would build, for those that can build more than they get."""
    if name in ("ljust", "rjust", "center", "zfill"):
        width = _text_arg(args, kwargs, 0, "width", 0)
        return max(len(text), width) if isinstance(width, int) else None
    if name == "join" and args:
        items = args[0]
        return sum(len(x) if isinstance(x, str) else 1 for x in items) + len(text) * max(0, len(items) - 1)
    if name == "expandtabs":
        size = _text_arg(args, kwargs, 0, "tabsize", 8)
        return len(text) + text.count("\t") * size if isinstance(size, int) else None
    if name == "replace":
        return _replaced_size(text, *(list(args) + [None, None, -1])[:3])
    if name == "translate":
        table = _text_arg(args, kwargs, 0, "table", None)
        values = table.values() if isinstance(table, dict) else ()
        return len(text) * max((len(v) for v in values if isinstance(v, str)), default=1)
    return None


class _Formatter(SandboxedFormatter):
    """Jinja's sandboxed ``str.format``, with each field's width and precision within the text budget."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        check_time()
        budgets.check_text(_width(format_spec), "a format width")
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
            size = _str_method_size(owner, name, args, kwargs)
            if size is not None:
                budgets.check_text(size, name)
        return super().call(context, obj, *args, **kwargs)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        check_time()
        if operator == "**" and _is_int(left) and _is_int(right) and right > 0 and abs(left) > 1:
            budgets.check_int_bits(left.bit_length() * right)
        elif operator == "*":
            if _is_int(left) and _is_int(right):
                budgets.check_int_bits(left.bit_length() + right.bit_length())
            _check_repeat(left, right)
        elif operator == "%" and isinstance(left, str):
            _check_percent(left, right)
        return super().call_binop(context, operator, left, right)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _range(*args: int) -> range:
    """Python's range, within the range budget."""
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = budgets.MAX_RANGE + 1
    budgets.check_range(length)
    return numbers


def _budgeted(function: Callable) -> Callable:
    """A filter or test that checks the deadline each time it runs (``map`` and ``select`` call them per item)."""

    @wraps(function)  # keeps ``jinja_pass_arg``: Jinja still passes the context or environment
    def checked(*args: Any, **kwargs: Any) -> Any:
        check_time()
        return function(*args, **kwargs)

    return checked


def _filter_sizes(name: str, function: Callable) -> Callable:
    """Filters that can build far more than they get, measured first; the others only check the deadline."""
    checked = _budgeted(function)
    if name == "join":

        @wraps(function)
        def join(eval_ctx, value, d="", attribute=None):
            items = list(value)
            size = sum(len(x) if type(x) is str else _size(x, budgets.MAX_TEXT) for x in items)
            size += len(str(d)) * max(0, len(items) - 1)
            budgets.check_text(size, "join")
            return checked(eval_ctx, items, d, attribute)

        return join
    if name == "format":

        @wraps(function)
        def format_(value, *args, **kwargs):
            _check_percent(str(value), kwargs or args)
            return checked(value, *args, **kwargs)

        return format_
    if name == "replace":

        @wraps(function)
        def replace(eval_ctx, s, old, new, count=None):
            budgets.check_text(_replaced_size(str(s), old, new, count), "replace")
            return checked(eval_ctx, s, old, new, count)

        return replace
    if name in ("center", "indent", "wordwrap"):

        @wraps(function)
        def padded(*args, **kwargs):
            budgets.check_text(_padded_size(name, args, kwargs), name)
            return checked(*args, **kwargs)

        return padded
    if name in ("batch", "slice"):

        @wraps(function)
        def grouped(value, count, *args, **kwargs):
            if isinstance(count, int):
                budgets.check_range(count)
            return checked(value, count, *args, **kwargs)

        return grouped
    if name == "sum":

        @wraps(function)
        def total(environment, iterable, attribute=None, start=0):
            if not isinstance(start, int | float):
                raise BudgetExceeded("size", "sum adds numbers; summing lists or text copies them over and over")
            return checked(environment, iterable, attribute, start)

        return total
    return checked


def _padded_size(name: str, args: tuple, kwargs: dict) -> int:
    if name == "wordwrap":  # (environment, s, width, break_long_words, wrapstring, ...)
        text = str(args[1]) if len(args) > 1 else ""
        wrap = args[4] if len(args) > 4 else kwargs.get("wrapstring")
        return len(text) * (1 + len(str(wrap or "\n")))
    text = str(args[0]) if args else ""
    width = _text_arg(args, kwargs, 1, "width", 80 if name == "center" else 4)
    if name == "center":
        return max(len(text), width) if isinstance(width, int) else len(text)
    per_line = width if isinstance(width, int) else len(str(width))
    return len(text) + (text.count("\n") + 1) * per_line


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, optimized=False)
_ENV.globals.clear()
_ENV.globals.update({"concat": concat, "range": _range, "dict": dict})
_ENV.filters = {name: _filter_sizes(name, function) for name, function in _ENV.filters.items()}
_ENV.tests = {name: _budgeted(function) for name, function in _ENV.tests.items()}


class _TooDeep(Exception):
    """An expression nests deeper than ``MAX_NESTING`` (or than the parser or Python's compiler can go)."""


def _bracket_depth(text: str, quotes: str) -> int:
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
    """The syntax tree of an expression; ``_TooDeep`` before the parser or the compiler recurses too far."""
    if _bracket_depth(source, "'\"") > MAX_NESTING:
        raise _TooDeep
    try:
        tree = _ENV.parse("{{" + source + "}}")
    except RecursionError:
        raise _TooDeep from None
    if _tree_depth(tree) > MAX_NESTING + 3:  # Template, Output and the expression's own node
        raise _TooDeep
    return tree


def syntax_error(source: str) -> str | None:
    """Why an expression's source does not parse, or None when it does."""
    if not source.strip():
        return "the expression {{ }} is empty"
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        return f"{{{{{source}}}}} is not a valid expression: {exc.message}"
    except _TooDeep:
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
        raise _TooDeep from None


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
    except _TooDeep:
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


def render_text(text: str, context: dict) -> str:
    """An instruction with every ``{{ }}`` replaced by its value as text (languages without binding)."""
    parts, problems = scan(text)
    if problems:
        raise ExpressionError(problems[0].message)
    return "".join(concat(evaluate(p.text, context)) if p.is_expression else p.text for p in parts)


def placeholder(paramstyle: str, name: str) -> str:
    if paramstyle == "pyformat":
        return f"%({name})s"
    if paramstyle == "named":
        return f":{name}"
    raise ValueError(f"paramstyle {paramstyle!r} is not supported; use 'pyformat' or 'named'")


def bind_value(value: Any) -> Any:
    """A value as the driver receives it: objects become JSON text; lists stay lists (for IN / ANY)."""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def render_sql(text: str, context: dict, paramstyle: str, dialect: str | None = None) -> Rendered:
    """SQL text with one placeholder per ``{{ }}`` (``p1``, ``p2``, ...) and the params dict.

    Everything outside the braces is copied as written; with ``pyformat`` each literal ``%`` is
    doubled so that ``LIKE 'a%'`` keeps meaning what it says once the driver substitutes. The
    text is cut as the database of ``dialect`` reads it (``flows.instructions.sql``; every
    database's reading when None), with the same refusals as the check before saving.
    """
    from flows.instructions.sql import lex

    lexed = lex(text, dialect)
    if lexed.problems:
        raise ExpressionError(str(lexed.problems[0]))
    escape_percent = paramstyle == "pyformat"
    placeholder(paramstyle, "p")  # rejects an unknown style before anything is evaluated
    out: list[str] = []
    params: dict[str, Any] = {}
    for part in lexed.parts:
        if part.is_expression:
            name = f"p{len(params) + 1}"
            params[name] = bind_value(evaluate(part.text, context))
            out.append(placeholder(paramstyle, name))
        else:
            out.append(part.text.replace("%", "%%") if escape_percent else part.text)
    return Rendered("".join(out), params)


def render_instruction(
    language: str, paramstyle: str | None, text: str, context: dict, dialect: str | None = None
) -> Rendered:
    """Render for a connector: bound parameters for SQL (cut as the type's ``sql_dialect`` reads it),
    the language's own renderer where it has one (typed BAPI values, URL-encoded HTTP paths), text
    substitution otherwise."""
    if language == "sql":
        return render_sql(text, context, paramstyle or "pyformat", dialect)
    render = renderer_for(language)
    if render is not None:
        return render(text, context)
    return Rendered(render_text(text, context), {})


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


class Masker:
    """Replaces every secret value of an environment wherever it appears in text or JSON, in each form
    it takes on the wire (URL-encoded in a path or query, JSON-escaped in a body) as well as written."""

    def __init__(self, secrets: list[str]):
        self.secrets = sorted(set(wire_forms(secrets)), key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def value(self, value: Any) -> Any:
        if not self.secrets:
            return value
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def properties(
    *,
    env: dict[str, str],
    trigger: dict,
    steps: dict[str, Any],
    execution_id: int | None,
    correlation_id: str = "",
) -> dict:
    """The names an expression sees (see the module docstring)."""
    return {
        "env": env,
        "trigger": {
            "payload": trigger.get("payload"),
            "headers": trigger.get("headers") or {},
            "query": trigger.get("query") or {},
        },
        "steps": steps,
        "execution": {"id": execution_id, "correlation_id": correlation_id},
    }


# -- JSONata, the language of mapping steps -------------------------------------------------------

MAPPING_MAX_DEPTH = 500
_mapping_cache = threading.local()


class _TimedPattern:
    """A JSONata regex compiled with the ``regex`` module, whose matching stops when the expression's
    time budget runs out (``re`` cannot be interrupted: ``/^(a+)+$/`` would backtrack for minutes).

    ``regex`` checks its timeout coarsely: a backtracking match stopped after up to three times the
    timeout given, so a match gets a third of the time left.
    """

    def __init__(self, pattern: str, flags: RegexFlags):
        options = (regex.IGNORECASE if flags.case_insensitive else 0) | (regex.MULTILINE if flags.multiline else 0)
        self.compiled = regex.compile(pattern, options | regex.VERSION0)

    def search(self, string: str) -> Any:
        return self.compiled.search(string, timeout=_regex_timeout())

    def finditer(self, string: str) -> Any:
        return self.compiled.finditer(string, timeout=_regex_timeout())

    def sub(self, repl: Any, string: str, count: int = 0) -> str:
        return self.compiled.sub(repl, string, count=count, timeout=_regex_timeout())

    def split(self, string: str, maxsplit: int = 0) -> list[str]:
        return self.compiled.split(string, maxsplit=maxsplit, timeout=_regex_timeout())


def _regex_timeout() -> float | None:
    left = budgets.remaining_seconds()
    return None if left is None else left / 3


class _Functions(jsonata_functions.Functions):
    """The JSONata functions that can build far more text than they get, measured first."""

    @staticmethod
    def pad(string: str | None, width: Any, char: str | None) -> str | None:
        if string is not None and isinstance(width, int | float):
            budgets.check_text(int(abs(width)), "$pad")
        return jsonata_functions.Functions.pad(string, width, char)

    @staticmethod
    def join(strs: list | None, separator: str | None) -> str | None:
        if strs is not None:
            size = sum(len(s) for s in strs if isinstance(s, str)) + len(separator or "") * max(0, len(strs) - 1)
            budgets.check_text(size, "$join")
        return jsonata_functions.Functions.join(strs, separator)

    @staticmethod
    def replace(string: str | None, pattern: Any, replacement: Any, limit: int | None) -> str | None:
        if isinstance(string, str):
            budgets.check_text(_replaced_size(string, pattern, replacement, limit), "$replace")
        return jsonata_functions.Functions.replace(string, pattern, replacement, limit)


_MAPPING_FUNCTIONS = {
    name: jsonata.Jsonata.JNativeFunction(name, signature, _Functions, name)
    for name, signature in (("pad", "<s-ns?:s>"), ("join", "<a<s>s?:s>"), ("replace", "<s-(sf)(sf)n?:s>"))
}


class _Mapping(jsonata.Jsonata):
    """A JSONata expression evaluated within the budgets: ranges capped, regexes timed, text measured."""

    def __init__(self, text: str):
        if _bracket_depth(text, "'\"`") > MAX_NESTING:
            raise _TooDeep
        try:
            super().__init__(text, regex_engine=_TimedPattern)
        except RecursionError:
            raise _TooDeep from None

    def evaluate_range_expression(self, lhs: Any, rhs: Any) -> Any:
        if _is_int(lhs) and _is_int(rhs) and rhs >= lhs:
            budgets.check_range(rhs - lhs + 1)
        return super().evaluate_range_expression(lhs, rhs)


def _compiled_mapping(text: str) -> _Mapping:
    """Parsed JSONata expressions, cached per thread (an expression object is not shared across threads)."""
    cache = getattr(_mapping_cache, "entries", None)
    if cache is None:
        cache = _mapping_cache.entries = {}
    expression = cache.get(text)
    if expression is None:
        if len(cache) >= 512:
            cache.clear()
        expression = cache[text] = _Mapping(text)
        # The properties are JSON already; checking them costs more than the mapping.
        expression.set_validate_input(False)
    return expression


def evaluate_mapping(text: str, data: dict, timeout_ms: int) -> Any:
    """The output of a mapping step: its JSONata expression over the step's properties.

    Raises ``StepTimeout`` when it runs longer than ``timeout_ms`` and ``ExpressionError`` otherwise.
    """
    from connectors.catalog.base import StepTimeout

    try:
        expression = _compiled_mapping(text)
        bounds = expression.create_frame()
        bounds.set_runtime_bounds(timeout_ms, MAPPING_MAX_DEPTH)
        for name, function in _MAPPING_FUNCTIONS.items():
            bounds.bind(name, function)
        with budgets.time_budget(timeout_ms):
            result = expression.evaluate(data, bounds)
    except jsonata.JException as exc:
        if exc.error == "D1012":
            raise StepTimeout(f"The mapping ran longer than its timeout of {timeout_ms} ms.") from None
        raise ExpressionError(f"The mapping failed: {exc}") from None
    except TimeoutError:
        raise StepTimeout(
            f"The mapping exceeded its time budget: a regular expression was still matching when its "
            f"{timeout_ms} ms ran out."
        ) from None
    except BudgetExceeded as exc:
        raise (StepTimeout if exc.kind == "time" else ExpressionError)(f"The mapping {exc}") from None
    except _TooDeep:
        raise ExpressionError("The mapping " + TOO_DEEP.format(limit=MAX_NESTING)) from None
    except RecursionError:
        raise ExpressionError("The mapping recursed too deeply.") from None
    except (ValueError, TypeError, ArithmeticError, regex.error) as exc:  # some jsonata functions raise these bare
        raise ExpressionError(f"The mapping failed: {exc}") from None
    try:
        return json.loads(json.dumps(result, ensure_ascii=False))
    except (TypeError, ValueError):
        raise ExpressionError("The mapping produced something that is not JSON data (a function?).") from None


def mapping_syntax_error(text: str) -> tuple[int, int, str] | None:
    """``(line, column, message)`` when a mapping's JSONata expression does not parse."""
    if not text.strip():
        return 1, 1, "the mapping expression is empty"
    try:
        _Mapping(text)
    except _TooDeep:
        return 1, 1, "the JSONata expression " + TOO_DEEP.format(limit=MAX_NESTING)
    except jsonata.JException as exc:
        where = position(text, max(0, min(int(exc.location or 0), len(text))))
        return where.line, where.column, f"the JSONata expression does not parse: {exc}"
    except Exception as exc:
        return 1, 1, f"the JSONata expression does not parse: {exc}"
    return None


def mapping_step_references(text: str) -> list[str]:
    """Names used as ``steps.<name>`` in a JSONata expression (from its syntax tree, not its text)."""
    from jsonata.parser import Parser

    try:
        tree = _Mapping(text).ast
    except Exception:
        return []
    found: list[str] = []
    seen: set[int] = set()
    pending: list[Any] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, list | tuple):
            pending.extend(node)
            continue
        if not isinstance(node, Parser.Symbol) or id(node) in seen:
            continue
        seen.add(id(node))
        path = getattr(node, "steps", None)
        if node.type == "path" and isinstance(path, list) and len(path) > 1:
            first, second = path[0], path[1]
            if first.type == "name" and first.value == "steps" and second.type == "name":
                found.append(second.value)
        pending.extend(value for key, value in vars(node).items() if not key.startswith("_"))
    return found
