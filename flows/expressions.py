"""``{{ expr }}`` properties in step instructions, evaluated in a Jinja2 sandbox.

An expression sees four names, the step's *properties*:

- ``env``: the variables of the execution's environment, secrets decrypted (masked wherever logged);
- ``trigger``: ``payload``, ``headers`` and ``query`` of what started the execution;
- ``steps``: the outputs of the steps upstream of this one, by name (``steps["Get customer"]``)
  and by reference key (``steps.get_customer``, see ``flows.graph.reference_key``);
- ``execution``: ``id`` and ``correlation_id``;

and the function ``concat(a, b, ...)``. Attribute access on a dict prefers its keys, so
``trigger.payload.items`` is the payload's ``items`` field, not the dict method.

The sandbox refuses every attribute starting with ``_`` and everything Jinja's sandbox refuses
(``__class__``, ``mro``, ``__globals__``, unsafe ``str.format`` fields), and caps repetition and
powers that would exhaust memory; a refusal is an ``ExpressionError`` saying what was refused.

SQL instructions never receive values as text: ``render_sql`` turns each ``{{ }}`` into a bind
parameter in the driver's paramstyle and escapes literal ``%`` for the ``pyformat`` style, so
whatever a payload holds, the statement text is the same.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from typing import Any

import jsonata
from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from accounts.crypto import MASK
from flows.instructions import Rendered, renderer_for
from flows.instructions.template import position, scan

MAX_REPEAT = 1_000_000
MAX_EXPONENT = 1_000


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


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, stricter: no ``_`` attributes, no memory bombs, dict keys first."""

    intercepted_binops = frozenset({"*", "**"})

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr.startswith("_"):
            return False
        return super().is_safe_attribute(obj, attr, value)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        """Refuse at once rather than yield a value that fails later (or never, inside a list)."""
        raise SecurityError(f"access to attribute {attribute!r} of a {type(obj).__name__!r} value is not allowed")

    def getattr(self, obj: Any, attribute: str) -> Any:
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)

    def call_binop(self, context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int) and len(seq) * times > MAX_REPEAT:
                    raise SecurityError(f"repeating a value beyond {MAX_REPEAT} items is not allowed")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False)
_ENV.globals.clear()
_ENV.globals.update({"concat": concat, "range": safe_range, "dict": dict})


def syntax_error(source: str) -> str | None:
    """Why an expression's source does not parse, or None when it does."""
    if not source.strip():
        return "the expression {{ }} is empty"
    try:
        _compiled(source)
    except TemplateSyntaxError as exc:
        return f"{{{{{source}}}}} is not a valid expression: {exc.message}"
    return None


@lru_cache(maxsize=4096)
def _compiled(source: str):
    return _ENV.compile_expression(source, undefined_to_none=False)


def evaluate(source: str, context: dict) -> Any:
    """The value of one expression (without its braces) over the properties in ``context``."""
    where = "{{" + source + "}}"
    try:
        value = _compiled(source)(**context)
        _reject_undefined(value)
    except SecurityError as exc:
        raise ExpressionError(f"{where} was refused by the expression sandbox: {exc}") from None
    except UndefinedError as exc:
        raise ExpressionError(f"{where} refers to something that does not exist: {exc}") from None
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"{where} is not a valid expression: {exc.message}") from None
    except Exception as exc:
        raise ExpressionError(f"{where} failed: {type(exc).__name__}: {exc}") from None
    return value


def _reject_undefined(value: Any, depth: int = 0) -> None:
    """Raise the error of an undefined value, also one nested in a list or dict the expression built."""
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises its own message here
    elif depth < 8 and isinstance(value, list | tuple):
        for item in value:
            _reject_undefined(item, depth + 1)
    elif depth < 8 and isinstance(value, dict):
        for item in value.values():
            _reject_undefined(item, depth + 1)


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
        tree = _ENV.parse("{{" + part.text + "}}")
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
    """Replaces every secret value of an environment wherever it appears in text or JSON."""

    def __init__(self, secrets: list[str]):
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

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


def _compiled_mapping(text: str):
    """Parsed JSONata expressions, cached per thread (an expression object is not shared across threads)."""
    cache = getattr(_mapping_cache, "entries", None)
    if cache is None:
        cache = _mapping_cache.entries = {}
    expression = cache.get(text)
    if expression is None:
        if len(cache) >= 512:
            cache.clear()
        expression = cache[text] = jsonata.Jsonata(text)
        expression.set_validate_input(
            False
        )  # the properties are JSON already; checking them costs more than the mapping
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
        result = expression.evaluate(data, bounds)
    except jsonata.JException as exc:
        if exc.error == "D1012":
            raise StepTimeout(f"The mapping ran longer than its timeout of {timeout_ms} ms.") from None
        raise ExpressionError(f"The mapping failed: {exc}") from None
    except RecursionError:
        raise ExpressionError("The mapping recursed too deeply.") from None
    except (ValueError, TypeError, ArithmeticError) as exc:  # some jsonata functions raise these bare
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
        jsonata.Jsonata(text)
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
        tree = jsonata.Jsonata(text).ast
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
