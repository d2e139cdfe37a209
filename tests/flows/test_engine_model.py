"""Random flows with routers, joins, a for-each and retries, run by the engine and by a pure model.

The model (``Model``) says, from the graph and the trigger payload alone, which steps run and in
which scope, how each one ends (succeeded, skipped with a reason, error_ignored, failed, timed
out, retrying attempts), what each outputs, what every item of the for-each outputs and how the
execution ends. The engine's records must say the same. The only thing taken from the engine is
the run order of the top-level steps, which is checked to be topological.

Step kinds drawn:

- ``map``: a mapping that succeeds with ``{"n": id, "parents": [the n of its mapping parents]}`` or
  fails with ``$error`` (Ignore Errors on or off); a failing mapping is never retried.
- ``cond``: a router (mode first/all) whose edges hold conditions over the trigger payload, in a
  random user order, maybe with an otherwise edge.
- ``slow``: a mapping that always runs out of its 15 ms, retried on timeout up to its max attempts.
- ``flaky``: a PostgreSQL statement that outlasts its timeout for its first k attempts (a sequence
  counts them; ``nextval`` survives the cancelled statement) and then answers.
- ``foreach`` (at most one): over ``trigger.payload.list``, a body of one or two mappings; the first
  fails for some item values (Ignore Errors on or off), continue_on_error on or off.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import engine
from flows.models import Execution, StepRun
from flows.plans import build
from tests.flows.builders import graph, mapping, sql

SLOW = "$count($map([1..100000], function($v){ $v * 2 }))"
SLOW_ERROR = "The mapping ran longer than its timeout of 15 ms."
CONDITIONS = [
    ("trigger.payload.a > {k}", lambda p, k: p["a"] > k),
    ("trigger.payload.b = {k}", lambda p, k: p["b"] == k),
    ("{{{{ trigger.payload.a + trigger.payload.b >= {k} }}}}", lambda p, k: p["a"] + p["b"] >= k),
]


# -- drawing flows ----------------------------------------------------------------------------------


@st.composite
def flows(draw):
    n = draw(st.integers(min_value=1, max_value=7))
    kinds = draw(st.lists(st.sampled_from(["map", "map", "cond", "slow", "flaky"]), min_size=n, max_size=n))
    if draw(st.integers(0, 3)) > 0:
        kinds[draw(st.integers(min_value=0, max_value=n - 1))] = "foreach"
    steps = []
    for i, kind in enumerate(kinds):
        step = {"id": f"s{i}", "kind": kind, "ignore": draw(st.integers(0, 3)) > 0, "x": draw(st.integers(0, 3))}
        if kind == "map":
            step["fails"] = draw(st.integers(0, 3)) == 0
        elif kind == "cond":
            step["mode"] = draw(st.sampled_from(["first", "all"]))
        elif kind == "slow":
            step["max_attempts"] = draw(st.integers(1, 3))
        elif kind == "flaky":
            step["max_attempts"] = draw(st.integers(1, 3))
            step["slow_attempts"] = draw(st.integers(0, 2))
        elif kind == "foreach":
            step["fails_on"] = draw(st.lists(st.integers(0, 4), max_size=2, unique=True))
            step["body_ignore"] = draw(st.booleans())
            step["second"] = draw(st.booleans())
            step["continue"] = draw(st.booleans())
            step["concurrency"] = draw(st.integers(1, 3)) if step["continue"] else 1
        steps.append(step)
    edges = []
    for i, step in enumerate(steps):
        targets = [j for j in range(i + 1, n) if draw(st.booleans())]
        otherwise = draw(st.sampled_from([None, *targets])) if step["kind"] == "cond" and targets else None
        for j in targets:
            edge = {"source": f"s{i}", "target": f"s{j}"}
            if step["kind"] == "cond":
                edge["order"] = draw(st.integers(0, 5))
                if j == otherwise:
                    edge["otherwise"] = True
                else:
                    which = draw(st.integers(0, len(CONDITIONS) - 1))
                    edge["condition"] = CONDITIONS[which][0].format(k=draw(st.integers(0, 3)))
                    edge["which"], edge["k"] = which, int(edge["condition"].rstrip(" }").split()[-1])
            edges.append(edge)
    # ids in a random order so that the index order is not a free topological order
    permutation = draw(st.permutations(range(n)))
    rename = {f"s{i}": f"s{permutation[i]}" for i in range(n)}
    for step in steps:
        step["id"] = rename[step["id"]]
    for edge in edges:
        edge["source"], edge["target"] = rename[edge["source"]], rename[edge["target"]]
    payload = {
        "a": draw(st.integers(0, 3)),
        "b": draw(st.integers(0, 3)),
        "list": draw(st.lists(st.integers(0, 4), max_size=4)),
    }
    return steps, edges, payload


def as_graph(steps: list[dict], edges: list[dict], connector, sequence: str) -> dict:
    parents = {s["id"]: [e["source"] for e in edges if e["target"] == s["id"]] for s in steps}
    nodes = []
    for step in steps:
        sid, kind, extra = step["id"], step["kind"], {"position": {"x": step["x"], "y": 0}}
        if kind == "map":
            listed = ", ".join(f"steps.{p}.n" for p in parents[sid])
            expression = f'$error("boom {sid}")' if step["fails"] else f'{{"n": "{sid}", "parents": [{listed}]}}'
            nodes.append(mapping(sid, expression, ignore=step["ignore"], **extra))
        elif kind == "cond":
            router = mapping(sid, "", ignore=step["ignore"], **extra)
            nodes.append({**router, "kind": "condition", "mode": step["mode"]})
        elif kind == "slow":
            retry = {"max_attempts": step["max_attempts"], "initial_ms": 0, "jitter": 0, "on": {"timeout": True}}
            nodes.append(mapping(sid, SLOW, ignore=step["ignore"], timeout_ms=15, retry=retry, **extra))
        elif kind == "flaky":
            retry = {"max_attempts": step["max_attempts"], "initial_ms": 0, "jitter": 0, "on": {"timeout": True}}
            statement = (
                f"SELECT CASE WHEN nextval('{sequence}_{sid}') <= {step['slow_attempts']} "
                f"THEN pg_sleep(5)::text ELSE 'ok' END AS r"
            )
            nodes.append(sql(sid, connector, statement, ignore=step["ignore"], timeout_ms=600, retry=retry, **extra))
        else:
            fails = ", ".join(str(v) for v in step["fails_on"])
            nodes.append(
                {
                    **mapping(sid, "", ignore=step["ignore"], **extra),
                    "kind": "foreach",
                    "items": "trigger.payload.list",
                    "concurrency": step["concurrency"],
                    "continue_on_error": step["continue"],
                }
            )
            first = f'item in [{fails}] ? $error("bad item " & $string(item)) : {{"v": item * 10, "i": index}}'
            nodes.append(mapping(f"{sid}b1", first, ignore=step["body_ignore"], group=sid))
            if step["second"]:
                nodes.append(mapping(f"{sid}b2", '{"from": steps.' + f'{sid}b1, "k": 2}}', group=sid, y=1))
    body_edges = [{"source": f"{s['id']}b1", "target": f"{s['id']}b2"} for s in steps if s.get("second")]
    plain = [{k: v for k, v in e.items() if k not in ("which", "k")} for e in edges]
    return graph(nodes, plain + body_edges)


# -- the model --------------------------------------------------------------------------------------


class Model:
    """What must happen: records as (scope, step id, attempt) -> (status, output, error), the ending."""

    def __init__(self, steps, edges, payload):
        self.steps = {s["id"]: s for s in steps}
        self.edges = edges
        self.payload = payload
        self.records: dict[tuple[str, str, int], tuple[str, object, str]] = {}
        self.had_errors = False
        self.status = ""
        self.error = ""
        self.output = None

    def run(self, order: list[str]) -> Model:
        ran, taken, outputs = {}, {}, {}
        for sid in order:
            step = self.steps[sid]
            reason = self.skip_reason(sid, ran, taken)
            if reason:
                self.records[("", sid, 1)] = ("skipped", None, reason)
                ran[sid] = False
                continue
            ran[sid] = True
            status, output, error = getattr(self, step["kind"])(step, outputs)
            self.records[("", sid, self.attempts(step))] = (status, output, error)
            if status in ("failed", "timed_out"):
                verb = "timed out" if status == "timed_out" else "failed"
                self.status, self.error = "failed", f"Step '{sid}' {verb}: {error}"
                return self
            if step["kind"] == "cond":
                taken[sid] = output["taken"]
            if status == "error_ignored" or error:
                self.had_errors = True
            outputs[sid] = output
            if status == "succeeded":
                self.output = output
        self.status = "completed_with_errors" if self.had_errors else "succeeded"
        return self

    def skip_reason(self, sid, ran, taken) -> str | None:
        incoming = [e for e in self.edges if e["target"] == sid]
        if not incoming:
            return None
        untaken = []
        for edge in incoming:
            if not ran.get(edge["source"]):
                continue
            if edge["source"] not in taken or edge["target"] in taken[edge["source"]]:
                return None
            untaken.append(edge)
        if untaken:
            shown = ", ".join(f"'{self.label(e)}'" for e in untaken)
            sources = ", ".join(sorted({f"'{e['source']}'" for e in untaken}))
            return f"Not run: branch {shown} of step {sources} not taken."
        return "Not run: every step before it was skipped."

    @staticmethod
    def label(edge) -> str:
        return "otherwise" if edge.get("otherwise") else edge["condition"]

    def ending(self, step, error: str, status: str = "failed", output=None):
        if step["ignore"]:
            if status == "timed_out" and "timed out" not in error.lower():
                error = f"Timed out: {error}"
            return "error_ignored", {**(output or {}), "error": error}, error
        return status, None, error

    def attempts(self, step) -> int:
        if step["kind"] == "slow":
            return step["max_attempts"]
        if step["kind"] == "flaky":
            return min(step["slow_attempts"] + 1, step["max_attempts"])
        return 1

    def map(self, step, outputs):
        if step["fails"]:
            return self.ending(step, f"The mapping failed: boom {step['id']}")
        parents = [e["source"] for e in self.edges if e["target"] == step["id"]]
        found = [outputs[p]["n"] for p in parents if isinstance(outputs.get(p), dict) and "n" in outputs[p]]
        return "succeeded", {"n": step["id"], "parents": found}, ""

    def cond(self, step, outputs):
        out = [e for e in self.edges if e["source"] == step["id"]]
        ordered = sorted(enumerate(out), key=lambda p: (bool(p[1].get("otherwise")), p[1]["order"], p[0]))
        chosen = []
        for _, edge in ordered:
            if edge.get("otherwise"):
                continue
            if CONDITIONS[edge["which"]][1](self.payload, edge["k"]):
                chosen.append(edge)
                if step["mode"] == "first":
                    break
        fallback = [e for e in out if e.get("otherwise")]
        if not chosen and fallback:
            chosen = fallback
        return "succeeded", {"taken": [e["target"] for e in chosen], "branches": [self.label(e) for e in chosen]}, ""

    def retrying(self, step, count: int, error: str) -> None:
        for attempt in range(1, count + 1):
            self.records[("", step["id"], attempt)] = ("retrying", None, error)

    def slow(self, step, outputs):
        self.retrying(step, step["max_attempts"] - 1, SLOW_ERROR)
        return self.ending(step, SLOW_ERROR, "timed_out")

    def flaky(self, step, outputs):
        error = "FLAKY"  # the connector's words; compared by prefix below
        if step["slow_attempts"] < step["max_attempts"]:
            self.retrying(step, step["slow_attempts"], error)
            return "succeeded", {"rows": [{"r": "ok"}]}, ""
        self.retrying(step, step["max_attempts"] - 1, error)
        return self.ending(step, error, "timed_out")

    def foreach(self, step, outputs):
        sid, results, failures, uneven = step["id"], [], [], 0
        for index, value in enumerate(self.payload["list"]):
            scope = f"{sid}[{index}]"
            if value in step["fails_on"]:
                error = f"The mapping failed: bad item {value}"
                if not step["body_ignore"]:
                    self.records[(scope, f"{sid}b1", 1)] = ("failed", None, error)
                    results.append({"index": index, "error": f"Step '{sid}b1' failed: {error}"})
                    failures.append(index)
                    if not step["continue"]:
                        break
                    continue
                first = {"error": error}
                self.records[(scope, f"{sid}b1", 1)] = ("error_ignored", first, error)
                uneven += 1
                result = None
            else:
                first = {"v": value * 10, "i": index}
                self.records[(scope, f"{sid}b1", 1)] = ("succeeded", first, "")
                result = first
            if step["second"]:
                result = {"from": first, "k": 2}
                self.records[(scope, f"{sid}b2", 1)] = ("succeeded", result, "")
            results.append(result)
        if failures and not step["continue"]:
            error = f"Item {failures[0]} failed: {results[-1]['error']}"
            unrun = [None] * (len(self.payload["list"]) - len(results))  # the items never started
            return self.ending(step, error, output={"items": results + unrun})
        note, count = "", len(self.payload["list"])
        if failures:
            note = f"{len(failures)} of {count} items failed; the loop went on (continue on error)."
        elif uneven:  # an ignored error in a body is an ignored error of the flow
            note = f"{uneven} of {count} items had a step whose error was ignored (Ignore Errors)."
        return "succeeded", results, note


# -- the check --------------------------------------------------------------------------------------


@pytest.fixture
def flaky_db(make_connector, postgres_url, sandbox):
    """A PostgreSQL connector and a prefix for the sequences that count a flaky step's attempts."""
    prefix = f"flaky_{uuid.uuid4().hex[:10]}"
    created: list[str] = []

    def sequences(names: list[str]) -> None:
        with psycopg.connect(postgres_url, autocommit=True) as db:
            for name in names:
                db.execute(f"CREATE SEQUENCE {name}")
                created.append(name)

    yield make_connector("postgres", postgres_url, [sandbox], name="Flaky"), prefix, sequences
    with psycopg.connect(postgres_url, autocommit=True) as db:
        for name in created:
            db.execute(f"DROP SEQUENCE IF EXISTS {name}")


counter = iter(range(1_000_000))
# Items of a for-each with a concurrency above 1 run on threads with connections of their own: they
# must see the execution, so the test commits.
pytestmark = pytest.mark.django_db(transaction=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(flows())
def test_random_flows_with_routers_loops_and_retries_follow_the_model(publish, start, flaky_db, flow):
    steps, edges, payload = flow
    connector, prefix, sequences = flaky_db
    sequence = f"{prefix}_{next(counter)}"
    sequences([f"{sequence}_{s['id']}" for s in steps if s["kind"] == "flaky"])
    version = publish(as_graph(steps, edges, connector, sequence))
    execution = engine.run(start(version, payload).pk)
    execution.refresh_from_db()

    top = [s["id"] for s in build(version.graph).order if "group" not in s]
    where = {sid: i for i, sid in enumerate(top)}
    for edge in edges:
        assert where[edge["source"]] < where[edge["target"]], (edge, top)
    model = Model(steps, edges, payload).run(top)

    recorded = {(r.scope, r.step_id, r.attempt): r for r in StepRun.objects.filter(execution=execution)}
    assert sorted(recorded) == sorted(model.records), (flow, execution.status, execution.error)
    for key, (status, output, error) in model.records.items():
        record = recorded[key]
        assert record.status == status, (key, record.error, flow)
        scope = key[0]
        assert record.item == (int(scope.split("[")[1][:-1]) if scope else None), key
        if steps_kind(steps, key[1]) == "flaky" and status not in ("succeeded", "skipped"):
            assert "timeout ran out" in record.error, (key, record.error)
            if status == "error_ignored":
                assert record.output == {"error": record.error}
            continue
        assert record.error == error, key
        if steps_kind(steps, key[1]) == "flaky" and status == "succeeded":
            assert record.output["rows"] == output["rows"], key
        else:
            assert record.output == output, (key, flow)
    assert execution.status == model.status, (flow, execution.error)
    if model.status == "failed":
        if model.error.endswith("FLAKY"):
            assert execution.error.startswith(model.error[: -len("FLAKY")]), execution.error
        else:
            assert execution.error == model.error
    elif isinstance(model.output, dict) and "rows" in model.output:
        assert execution.output["rows"] == model.output["rows"]
    else:
        assert execution.output == model.output


def steps_kind(steps, step_id: str) -> str:
    return next((s["kind"] for s in steps if s["id"] == step_id), "body")


# -- the cases the model found worth pinning ---------------------------------------------------------


def test_an_ignored_error_inside_a_for_each_body_ends_the_execution_completed_with_errors(publish, start):
    version = publish(
        graph(
            [
                {**mapping("loop", ""), "kind": "foreach", "items": "trigger.payload.list"},
                mapping("body", 'item = 2 ? $error("bad item 2") : item', ignore=True, group="loop"),
            ]
        )
    )
    execution = engine.run(start(version, {"list": [1, 2, 3]}).pk)
    statuses = list(StepRun.objects.filter(execution=execution, step_id="body").order_by("item").values_list("status"))
    assert statuses == [("succeeded",), ("error_ignored",), ("succeeded",)]
    assert execution.status == Execution.Status.COMPLETED_WITH_ERRORS, (
        "Ignore Errors: the step is recorded error_ignored, the flow goes on and ends completed_with_errors"
    )
