"""Graph validation: one message per problem, each naming its step; defaults; the run order."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import graph as graphs
from flows.step_names import reference_key
from tests.flows.builders import chain, graph, mapping

OK = '{"ok": true}'


def problems_of(g, org, **kwargs):
    return [(p.step, p.field, p.message) for p in graphs.validate(g, org, **kwargs)]


def test_a_valid_graph_has_no_problems(org):
    g = graph([mapping("a", OK), mapping("b", "steps.a.ok", y=1)], chain("a", "b"))
    assert graphs.validate(g, org) == []


def test_an_empty_graph_is_valid_for_a_draft(org):
    assert graphs.validate({}, org) == []


@pytest.mark.parametrize(
    ("g", "field", "fragment"),
    [
        ("not a graph", "graph", "must be an object"),
        ({"steps": {}}, "steps", "'steps' must be a list"),
        ({"steps": [], "edges": "a->b"}, "edges", "'edges' must be a list"),
        ({"steps": ["x"]}, "steps", "Step 1 is not an object"),
        ({"steps": [{"name": "no id", "kind": "mapping", "instruction": OK}]}, "id", "has no id"),
        ({"steps": [{"id": "x" * 65, "name": "n", "kind": "mapping", "instruction": OK}]}, "id", "longer than 64"),
        ({"steps": [{"id": "a", "kind": "mapping", "instruction": OK}]}, "name", "Step 'a' has no name"),
        ({"steps": [mapping("a", OK, name="!!!")]}, "name", "at least one letter or digit"),
        ({"steps": [mapping("a", OK, kind="shell")]}, "kind", "unknown kind 'shell'"),
        ({"steps": [mapping("a", OK, timeout_ms=0)]}, "timeout_ms", "is 0 ms; it must be between 1 and 60000"),
        ({"steps": [mapping("a", OK, timeout_ms=60001)]}, "timeout_ms", "is 60001 ms"),
        ({"steps": [mapping("a", OK, timeout_ms="3000")]}, "timeout_ms", "whole number of milliseconds"),
        ({"steps": [mapping("a", OK, timeout_ms=True)]}, "timeout_ms", "whole number of milliseconds"),
        ({"steps": [mapping("a", OK, ignore_errors="yes")]}, "ignore_errors", "must be true or false"),
        ({"steps": [mapping("a", 42)]}, "instruction", "must be text"),
        ({"steps": [mapping("a", "")]}, "instruction", "the mapping expression is empty"),
        ({"steps": [mapping("a", '{"a": ')]}, "instruction", "the JSONata expression does not parse"),
        ({"steps": [mapping("a", OK)], "edges": ["a"]}, "edges", "Edge 1 is not an object"),
    ],
)
def test_each_bad_field_is_one_problem_with_a_clear_message(org, g, field, fragment):
    problems = graphs.validate(g, org)
    assert len(problems) == 1, [p.message for p in problems]
    assert problems[0].field == field
    assert fragment in problems[0].message


def test_a_duplicate_id_names_the_step_and_the_id(org):
    g = graph([mapping("a", OK, name="First"), mapping("a", OK, name="Second")])
    assert problems_of(g, org) == [("a", "id", "Step 'Second': the id 'a' is already used by another step.")]


def test_duplicate_names_are_refused_also_when_only_their_reference_key_clashes(org):
    g = graph(
        [
            mapping("a", OK, name="Get customer"),
            mapping("b", OK, name="Get customer"),
            mapping("c", OK, name="get-customer"),
        ]
    )
    problems = problems_of(g, org)
    assert [p[:2] for p in problems] == [("b", "name"), ("c", "name")]
    assert "has the same name as another step" in problems[0][2]
    assert "clashes with 'Get customer' (get_customer)" in problems[1][2]


def test_an_edge_to_an_unknown_step_names_the_missing_end(org):
    g = graph([mapping("a", OK)], [{"source": "a", "target": "ghost"}])
    assert problems_of(g, org) == [
        ("a", "edges", "Edge 1 from 'a' to 'ghost' connects to 'ghost', which is not a step of this flow.")
    ]


def test_an_edge_between_two_unknown_steps_says_both(org):
    g = graph([mapping("a", OK)], [{"source": "x", "target": "y"}])
    [(step, _, message)] = problems_of(g, org)
    assert step is None
    assert "'x' and 'y', which are not steps" in message


def test_a_cycle_is_one_problem_naming_its_steps_in_order(org):
    steps = [mapping("a", OK, name="A", y=0), mapping("b", OK, name="B", y=1), mapping("c", OK, name="C", y=2)]
    g = graph([*steps, mapping("d", OK, name="D", y=3)], [*chain("a", "b", "c", "a"), {"source": "c", "target": "d"}])
    assert problems_of(g, org) == [
        (
            "a",
            "edges",
            "Steps 'A' → 'B' → 'C' → 'A' form a cycle; a flow runs each step once, so remove one of these edges.",
        )
    ]


def test_two_separate_cycles_and_a_self_loop_are_three_problems(org):
    g = graph(
        [mapping(s, OK, y=i) for i, s in enumerate("abcde")],
        [*chain("a", "b", "a"), *chain("c", "d", "c"), {"source": "e", "target": "e"}],
    )
    problems = [p for p in graphs.validate(g, org) if p.field == "edges"]
    assert [p.step for p in problems] == ["a", "c", "e"]
    assert "'e' → 'e' form a cycle" in problems[2].message


def test_a_reference_to_a_step_that_is_not_upstream_is_refused(org):
    g = graph(
        [
            mapping("a", OK, name="Load"),
            mapping("b", "steps.load.ok", name="Use", y=1),
            mapping("c", OK, name="Later", y=2),
        ],
        chain("b", "a") + chain("a", "c"),
    )
    g["steps"][2]["instruction"] = "steps.use"  # upstream: fine
    g["steps"][0]["instruction"] = "steps.later.x"  # downstream: refused
    assert problems_of(g, org) == [
        (
            "a",
            "instruction",
            "Step 'Load' uses the output of step 'Later', which is not upstream of it; connect 'Later' before 'Load'.",
        ),
        (
            "b",
            "instruction",
            "Step 'Use' uses the output of step 'Load', which is not upstream of it; connect 'Load' before 'Use'.",
        ),
    ]


def test_a_step_referring_to_itself_or_to_no_step_is_refused(org):
    g = graph([mapping("a", "steps.a.x", name="a"), mapping("b", "$count(steps.nothing)", name="b")])
    assert problems_of(g, org) == [
        (
            "a",
            "instruction",
            "Step 'a' uses the output of step 'a', which is not upstream of it; connect 'a' before 'a'.",
        ),
        ("b", "instruction", "Step 'b' refers to steps.nothing, but no step has that name."),
    ]


def test_references_count_transitively_upstream_steps_and_quoted_names(org):
    g = graph(
        [
            mapping("a", OK, name="Get customer"),
            mapping("b", OK, name="b", y=1),
            mapping("c", '{"x": steps.`Get customer`.ok, "y": steps.get_customer.ok, "z": steps.b}', name="c", y=2),
        ],
        chain("a", "b", "c"),
    )
    assert graphs.validate(g, org) == []


def test_a_string_mentioning_steps_is_not_a_reference(org):
    assert graphs.validate(graph([mapping("a", '"steps.ghost is just text"')]), org) == []


def test_every_problem_of_a_graph_is_reported_at_once(org):
    g = graph(
        [mapping("a", OK, timeout_ms=0), mapping("a", OK, name="dup"), mapping("c", "", name="c")],
        [{"source": "c", "target": "zz"}],
    )
    fields = sorted(p.field for p in graphs.validate(g, org))
    assert fields == ["edges", "id", "instruction", "timeout_ms"]


def test_normalize_fills_defaults_and_keeps_editor_keys():
    g = graphs.normalize(
        {"steps": [{"id": "a", "name": "A", "ui": {"color": "red"}}], "edges": [{"source": "a", "target": "b"}] * 2}
    )
    assert g["steps"][0] == {
        "id": "a",
        "name": "A",
        "ui": {"color": "red"},
        "kind": "connector",
        "connector": None,
        "timeout_ms": 3000,
        "ignore_errors": False,
        "instruction": "",
        "options": {},
        "position": {"x": 0, "y": 0},
    }
    assert g["edges"] == [{"source": "a", "target": "b"}]


def test_a_missing_or_null_timeout_becomes_3000_ms():
    g = graphs.normalize(graph([mapping("a", OK, timeout_ms=None), mapping("b", OK)]))
    assert [s["timeout_ms"] for s in g["steps"]] == [3000, 3000]


def test_order_is_topological_with_ties_broken_top_to_bottom_then_left_to_right():
    def at(sid, x, y):
        return {**mapping(sid, OK), "position": {"x": x, "y": y}}

    g = graphs.normalize(
        graph(
            [at("sink", 0, 0), at("right", 200, 100), at("left", 0, 100), at("top", 500, 50), at("root", 300, 300)],
            [{"source": "root", "target": "sink"}, {"source": "left", "target": "sink"}],
        )
    )
    assert [s["id"] for s in graphs.order(g)] == ["top", "left", "right", "root", "sink"]


def test_ancestors_are_transitive():
    g = graphs.normalize(graph([mapping(s, OK) for s in "abcd"], chain("a", "b", "c")))
    assert graphs.ancestors(g) == {"a": set(), "b": {"a"}, "c": {"a", "b"}, "d": set()}


def test_reference_keys_are_identifiers():
    assert reference_key("Get customer (SAP)") == "get_customer_sap"
    assert reference_key("  Überweisung 2 ") == "überweisung_2"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=8,
)
step_like = st.fixed_dictionaries(
    {},
    optional={
        "id": st.sampled_from(["a", "b", "c"]) | json_values,
        "name": st.sampled_from(["A", "B", "a"]) | json_values,
        "kind": st.sampled_from(["mapping", "connector"]) | json_values,
        "timeout_ms": st.integers(-5, 70000) | json_values,
        "ignore_errors": json_values,
        "instruction": st.sampled_from(["1", "steps.a", "{{ x }}", "$error('x')"]) | json_values,
        "connector": json_values,
        "position": json_values,
    },
)
edge_like = st.fixed_dictionaries(
    {},
    optional={
        "source": st.sampled_from(["a", "b", "c"]) | json_values,
        "target": st.sampled_from(["a", "b", "c"]) | json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "steps": st.lists(step_like | json_values, max_size=4),
            "edges": st.lists(edge_like | json_values, max_size=4),
        },
    )
    | json_values
)
def test_validation_answers_problems_for_any_json_and_never_crashes(org, g):
    problems = graphs.validate(g, org)
    assert all(isinstance(p, graphs.Problem) and p.message for p in problems)
    if not problems:
        assert graphs.order(graphs.normalize(g)) is not None
