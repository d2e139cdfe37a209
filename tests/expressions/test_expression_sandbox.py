"""Sandbox escapes are refused with a clear error, never evaluated: a corpus of known tricks."""

from __future__ import annotations

import contextlib

import pytest

from expressions.properties import properties
from expressions.sandbox import ExpressionError, evaluate
from instructions.render import render_sql


@pytest.fixture
def context():
    return properties(
        env={"KEY": "value"},
        trigger={"payload": {"name": "x", "items": [1, 2], "nested": {"a": 1}}},
        steps={"load": {"rows": []}},
        execution_id=1,
    )


REFUSED_BY_THE_SANDBOX = [
    # dunder walking to object's subclasses or to a function's globals
    "trigger.__class__",
    "trigger.payload.name.__class__.__mro__",
    "''.__class__.__mro__[1].__subclasses__()",
    "[].__class__.__base__.__subclasses__()",
    "(1).real.__class__",
    "concat.__globals__",
    "concat.__code__.co_consts",
    "range.__init__",
    "dict.__base__",
    "dict.mro()",
    "self.__init__.__globals__",
    "trigger.payload.name.join.__self__",
    "trigger.payload.name.__len__()",
    "env.KEY.__doc__",
    "steps.load.__class__.__init__",
    # the same through filters and item syntax
    "trigger|attr('__class__')",
    "trigger.payload.items|map(attribute='__class__')|list",
    "trigger['__class__']",
    "trigger.payload.name['__class__']",
    # format-string tricks reach attributes through the format mini-language
    "'{0.__class__}'.format(trigger)",
    "'{0.__class__.__mro__}'.format(1)",
    "'{a.__class__}'.format_map({'a': 1})",
    "'{0.__init__.__globals__}'.format(concat)",
    # mutation of shared data
    "trigger.payload.items.append(3)",
    "trigger.payload.items.pop()",
    "trigger.payload.nested.update({'a': 2})",
    "trigger.payload.nested.clear()",
    # memory and CPU bombs
    "'a' * 10**9",
    "[0] * 10**8",
    "2 ** 100000",
]

NOT_THERE = [
    "lipsum",
    "cycler",
    "joiner",
    "namespace",
    "config",
    "request",
    "__builtins__",
    "concat.func_globals",
    "trigger.payload.name._private",
]


@pytest.mark.parametrize("expression", REFUSED_BY_THE_SANDBOX)
def test_an_escape_attempt_is_refused_with_a_clear_error(context, expression):
    with pytest.raises(ExpressionError) as refused:
        evaluate(expression, context)
    message = str(refused.value)
    assert message.startswith("{{" + expression + "}}")
    assert any(words in message for words in ("refused by the expression sandbox", "unsafe", "not allowed", "budget"))


@pytest.mark.parametrize("expression", NOT_THERE)
def test_python_internals_are_simply_not_available(context, expression):
    with pytest.raises(ExpressionError, match="does not exist|is undefined"):
        evaluate(expression, context)


def test_a_huge_range_is_refused(context):
    with pytest.raises(ExpressionError, match="exceeded its size budget: a range of more than 100,000 items"):
        evaluate("range(10**9)|list", context)


@pytest.mark.parametrize("expression", REFUSED_BY_THE_SANDBOX[:6])
def test_an_escape_attempt_in_sql_fails_the_render_and_binds_nothing(context, expression):
    with pytest.raises(ExpressionError, match="refused by the expression sandbox"):
        render_sql("SELECT {{ " + expression + " }}", context, "pyformat")


def test_shared_data_is_unchanged_after_the_attempts(context):
    for expression in REFUSED_BY_THE_SANDBOX:
        with contextlib.suppress(ExpressionError):
            evaluate(expression, context)
    assert context["trigger"]["payload"] == {"name": "x", "items": [1, 2], "nested": {"a": 1}}


def test_ordinary_methods_and_filters_still_work(context):
    assert evaluate("trigger.payload.name.upper() ~ '-' ~ trigger.payload.items|join(',')", context) == "X-1,2"
    assert evaluate("'{}-{}'.format(env.KEY, 1)", context) == "value-1"
    assert evaluate("trigger.payload.nested.get('a')", context) == 1
