import type { NodeChange } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import { ApiError, type Connector, type ConnectorType, type Execution, type StepRun } from "./api";
import type { PaletteItem } from "./dnd/DnDContext";
import type { StepNode } from "./flowGraph";
import type { Graph, Step } from "./graph";
import { emptyCatalog } from "./context";
import { createEditorStore } from "./store";

function step(id: string, y = 0, extra: Partial<Step> = {}): Step {
  return { id, kind: "mapping", name: id.toUpperCase(), timeout_ms: 3000, ignore_errors: false, instruction: "{}", position: { x: 0, y }, ...extra };
}

const sqlite: ConnectorType = {
  key: "sqlite",
  label: "SQLite",
  category: "database",
  icon: "database",
  description: "",
  language: "sql",
  step_options: [
    { name: "max_rows", label: "Max rows", help: "", kind: "int", required: false, default: 100, choices: [], min: 1, max: null },
    { name: "note", label: "Note", help: "", kind: "str", required: false, default: null, choices: [], min: null, max: null },
  ],
};
const demo: Connector = { id: 7, name: "Demo database", type: "sqlite", type_label: "SQLite", description: "", environments: ["sandbox"] };
const catalog = { types: new Map([[sqlite.key, sqlite]]), connectors: [demo], connectorById: new Map([[demo.id, demo]]) };
const DEMO: PaletteItem = { kind: "connector", label: "Demo database", icon: "database", category: "database", connector: demo };
const MAPPING: PaletteItem = { kind: "mapping", label: "Mapping", icon: "mapping", category: "mapping" };

/** A store opened on ``a -> b`` (plus ``c`` when asked), as the draft loads. */
function opened(graph: Graph = { steps: [step("a", 0), step("b", 100)], edges: [{ source: "a", target: "b" }], layout: "manual" }, readOnly = false) {
  const store = createEditorStore({ readOnly });
  store.getState().loaded(structuredClone(graph), catalog, [{ slug: "sandbox", name: "Sandbox" }]);
  return store;
}

const ids = (store: ReturnType<typeof opened>) => store.getState().nodes.map((n) => n.id);
const dirty = (store: ReturnType<typeof opened>) => store.getState().revision !== store.getState().savedRevision;
function select(store: ReturnType<typeof opened>, ...chosen: string[]) {
  const changes = store.getState().nodes.map((n): NodeChange<StepNode> => ({ type: "select", id: n.id, selected: chosen.includes(n.id) }));
  store.getState().changeNodes(changes);
}

function run(status: string, records: Partial<StepRun>[] = []): Execution {
  return { id: 1, url: "", status, error: "", duration_ms: null, steps: records as StepRun[] };
}

describe("opening a draft", () => {
  it("shows its steps and edges, unchanged, and keeps the graph's other keys for saving", () => {
    const store = opened();
    expect(ids(store)).toEqual(["a", "b"]);
    expect(store.getState().edges.map((e) => e.id)).toEqual(["a->b"]);
    expect(store.getState().loading).toBe(false);
    expect(store.getState().fitOnOpen).toBe(true);
    expect(dirty(store)).toBe(false);
    expect(store.getState().graph()).toMatchObject({ layout: "manual", edges: [{ source: "a", target: "b" }] });
  });
});

describe("addStep", () => {
  it("adds a connector step with a new id and name, its type's option defaults, selected and undoable", () => {
    const store = opened();
    store.getState().addStep(DEMO, { x: 10, y: 20 });
    store.getState().addStep(DEMO, { x: 10, y: 200 });
    const added = store.getState().graph().steps.slice(2);
    expect(added.map((s) => [s.id, s.name])).toEqual([
      ["step-1", "Demo database"],
      ["step-2", "Demo database 2"],
    ]);
    expect(added[0]).toMatchObject({ kind: "connector", connector: 7, options: { max_rows: 100 }, timeout_ms: 3000, position: { x: 10, y: 20 } });
    expect(store.getState().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["step-2"]);
    expect(dirty(store)).toBe(true);
    expect(store.getState().canUndo).toBe(true);
  });

  it("adds a mapping step with an empty object, and nothing in a read-only editor", () => {
    const store = opened();
    store.getState().addStep(MAPPING, { x: 0, y: 0 });
    expect(store.getState().graph().steps[2]).toMatchObject({ kind: "mapping", name: "Mapping", instruction: "{}" });
    const readOnly = opened(undefined, true);
    readOnly.getState().addStep(MAPPING, { x: 0, y: 0 });
    expect(ids(readOnly)).toEqual(["a", "b"]);
  });
});

describe("connect", () => {
  it("draws an edge between two steps", () => {
    const store = opened({ steps: [step("a"), step("b"), step("c")], edges: [{ source: "a", target: "b" }] });
    store.getState().connect({ source: "b", target: "c", sourceHandle: null, targetHandle: null });
    expect(store.getState().graph().edges).toEqual([
      { source: "a", target: "b" },
      { source: "b", target: "c" },
    ]);
    expect(store.getState().hint).toBeNull();
    expect(dirty(store)).toBe(true);
  });

  it("refuses a loop and names it in the hint, leaving the graph and the history alone", () => {
    const store = opened();
    expect(store.getState().checkConnection({ source: "b", target: "a", sourceHandle: null, targetHandle: null })).toBe(false);
    store.getState().connect({ source: "b", target: "a", sourceHandle: null, targetHandle: null });
    expect(store.getState().hint).toContain("loop (A → B → A)");
    expect(store.getState().edges).toHaveLength(1);
    expect(store.getState().canUndo).toBe(false);
    expect(dirty(store)).toBe(false);
  });
});

describe("delete", () => {
  it("removes the selected steps with their edges, and closes the form of a removed step", () => {
    const store = opened({ steps: [step("a"), step("b"), step("c")], edges: [{ source: "a", target: "b" }, { source: "b", target: "c" }] });
    store.getState().edit("b");
    select(store, "b");
    store.getState().deleteSelection();
    expect(ids(store)).toEqual(["a", "c"]);
    expect(store.getState().edges).toEqual([]);
    expect(store.getState().editing).toBeNull();
  });

  it("removes a selected edge alone, and does nothing without a selection", () => {
    const store = opened();
    store.getState().deleteSelection();
    expect(store.getState().canUndo).toBe(false);
    store.getState().changeEdges([{ type: "select", id: "a->b", selected: true }]);
    store.getState().deleteSelection();
    expect(ids(store)).toEqual(["a", "b"]);
    expect(store.getState().edges).toEqual([]);
  });

  it("ignores React Flow's own removals: only the Delete key removes", () => {
    const store = opened();
    store.getState().changeNodes([{ type: "remove", id: "a" }]);
    expect(ids(store)).toEqual(["a", "b"]);
  });
});

describe("undo and redo", () => {
  it("walk back and forth through the changes, each counted as unsaved", () => {
    const store = opened();
    store.getState().removeStep("b");
    store.getState().addStep(MAPPING, { x: 0, y: 0 });
    expect(ids(store)).toEqual(["a", "step-1"]);
    store.getState().undo();
    expect(ids(store)).toEqual(["a"]);
    store.getState().undo();
    expect(ids(store)).toEqual(["a", "b"]);
    expect(store.getState().edges.map((e) => e.id)).toEqual(["a->b"]);
    expect(store.getState().canUndo).toBe(false);
    store.getState().undo();
    expect(ids(store)).toEqual(["a", "b"]);
    store.getState().redo();
    expect(ids(store)).toEqual(["a"]);
    expect(store.getState().canRedo).toBe(true);
    store.getState().redo();
    expect(ids(store)).toEqual(["a", "step-1"]);
    expect(store.getState().canRedo).toBe(false);
    expect(dirty(store)).toBe(true);
  });

  it("a new change forgets what was undone", () => {
    const store = opened();
    store.getState().removeStep("b");
    store.getState().undo();
    store.getState().addStep(MAPPING, { x: 0, y: 0 });
    expect(store.getState().canRedo).toBe(false);
  });

  it("a drag that moved a step is one undoable change; a click without a move is none", () => {
    const store = opened();
    store.getState().dragStarted();
    store.getState().dragStopped();
    expect(store.getState().canUndo).toBe(false);
    store.getState().dragStarted();
    store.getState().changeNodes([{ type: "position", id: "a", position: { x: 48.4, y: 16 } }]);
    store.getState().dragStopped();
    expect(store.getState().graph().steps[0].position).toEqual({ x: 48, y: 16 });
    store.getState().undo();
    expect(store.getState().graph().steps[0].position).toEqual({ x: 0, y: 0 });
  });
});

describe("copy and paste", () => {
  it("pastes copies with their settings, new ids and names and the edges between them, shifted each time", () => {
    const store = opened({ steps: [step("a", 0, { instruction: '{"x": 1}' }), step("b", 100)], edges: [{ source: "a", target: "b" }] });
    select(store, "a", "b");
    store.getState().copySelection();
    expect(store.getState().clip?.steps).toHaveLength(2);
    expect(store.getState().notice?.text).toBe("Copied 2 steps; paste with Ctrl+V.");
    store.getState().paste();
    const pasted = store.getState().graph();
    expect(pasted.steps.slice(2)).toMatchObject([
      { id: "step-1", name: "A 2", instruction: '{"x": 1}', position: { x: 32, y: 32 } },
      { id: "step-2", name: "B 2", position: { x: 32, y: 132 } },
    ]);
    expect(pasted.edges).toContainEqual({ source: "step-1", target: "step-2" });
    expect(store.getState().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["step-1", "step-2"]);
    store.getState().paste();
    expect(store.getState().graph().steps[4].position).toEqual({ x: 64, y: 64 });
    store.getState().undo();
    expect(ids(store)).toHaveLength(4);
  });

  it("pastes nothing before a copy; duplicate copies one step without touching the clipboard", () => {
    const store = opened();
    store.getState().paste();
    expect(store.getState().canUndo).toBe(false);
    store.getState().duplicate("b");
    expect(store.getState().graph().steps[2]).toMatchObject({ name: "B 2", position: { x: 32, y: 132 } });
    expect(store.getState().clip).toBeNull();
    expect(store.getState().notice?.text).toBe("Pasted 1 step with their settings.");
  });
});

describe("the step form", () => {
  it("saves the form's values on the step, keeping where it stands, and closes the form", () => {
    const store = opened();
    store.getState().edit("a");
    store.getState().changeNodes([{ type: "position", id: "a", position: { x: 5, y: 5 } }]);
    store.getState().saveStep({ ...step("a"), name: "Greet", timeout_ms: 5000 });
    expect(store.getState().graph().steps[0]).toMatchObject({ name: "Greet", timeout_ms: 5000, position: { x: 5, y: 5 } });
    expect(store.getState().editing).toBeNull();
    expect(dirty(store)).toBe(true);
  });

  it("a click shows a step's data, a double-click its form; a click leaves an open form alone", () => {
    const store = opened();
    store.getState().inspect("a");
    expect(store.getState()).toMatchObject({ editing: null, runView: "a" });
    store.getState().openStep("a");
    expect(store.getState()).toMatchObject({ editing: "a", runView: null });
    store.getState().inspect("b");
    expect(store.getState()).toMatchObject({ editing: "a", runView: null });
    store.getState().closePanels();
    expect(store.getState()).toMatchObject({ editing: null, runView: null });
  });
});

describe("sample data", () => {
  it("keeps the sample payload in the graph, undoably, and drops it when cleared", () => {
    const store = opened();
    const sample = { format: "json" as const, text: '{"a": 1}' };
    store.getState().setSample(sample);
    expect(store.getState().graph().sample).toEqual(sample);
    expect(dirty(store)).toBe(true);
    store.getState().undo();
    expect(store.getState().graph()).not.toHaveProperty("sample");
    store.getState().redo();
    store.getState().setSample(null);
    expect(store.getState().graph()).not.toHaveProperty("sample");
  });

  it("pins a step's sample output and unpins it", () => {
    const store = opened();
    store.getState().pinOutput("a", { rows: [] });
    expect(store.getState().graph().steps[0].sample_output).toEqual({ rows: [] });
    store.getState().pinOutput("a", undefined);
    expect(store.getState().graph().steps[0]).not.toHaveProperty("sample_output");
  });

  it("reads the sample of a loaded draft and keeps the graph's other keys", () => {
    const store = createEditorStore({ readOnly: false });
    const sample = { format: "execution" as const, execution: 3, payload: { id: 1 } };
    store.getState().loaded({ steps: [step("a")], edges: [], sample, note: "kept" }, emptyCatalog, []);
    expect(store.getState().sample).toEqual(sample);
    expect(store.getState().graph()).toMatchObject({ sample, note: "kept" });
  });
});

describe("toasts", () => {
  it("stacks the last three notices, each dismissed by its id", () => {
    const store = opened();
    for (const text of ["one", "two", "three", "four"]) store.getState().say("ok", text);
    expect(store.getState().toasts.map((t) => t.text)).toEqual(["two", "three", "four"]);
    store.getState().dismissToast(store.getState().toasts[1].id);
    expect(store.getState().toasts.map((t) => t.text)).toEqual(["two", "four"]);
  });
});

describe("applyRunStatus", () => {
  it("shows each step's status: running in run order, then the records, then skipped once over", () => {
    const store = opened();
    store.getState().applyRunStatus(run("running"));
    expect(store.getState().statuses).toEqual({ a: { status: "running" }, b: { status: "queued" } });
    store.getState().applyRunStatus(run("failed", [{ step_id: "a", status: "failed", duration_ms: 3.5 }]));
    expect(store.getState().statuses).toEqual({ a: { status: "failed", duration_ms: 3.5 }, b: { status: "skipped" } });
    expect(store.getState().execution?.status).toBe("failed");
  });

  it("keeps the status of a step whose status did not change, so only the changed step re-renders", () => {
    const store = opened({ steps: [step("a", 0), step("b", 100), step("c", 200)], edges: [] });
    const a = { step_id: "a", status: "succeeded", duration_ms: 2 };
    const b = { step_id: "b", status: "succeeded", duration_ms: 4 };
    store.getState().applyRunStatus(run("running", [a]));
    const before = store.getState().statuses;
    store.getState().applyRunStatus(run("running", [a, b]));
    const after = store.getState().statuses;
    expect(after.a).toBe(before.a);
    expect(after.b).not.toBe(before.b);
    expect(after.c).not.toBe(before.c);
    store.getState().applyRunStatus(run("running", [a, b]));
    expect(store.getState().statuses.b).toBe(after.b);
    expect(store.getState().statuses.c).toBe(after.c);
  });
});

describe("saving and problems", () => {
  it("a save at a revision leaves changes made since then unsaved", () => {
    const store = opened();
    store.getState().removeStep("b");
    const { revision, graph } = store.getState();
    const saved = graph();
    store.getState().addStep(MAPPING, { x: 0, y: 0 });
    store.getState().draftSaved(revision, saved);
    expect(dirty(store)).toBe(true);
    expect(store.getState().savedIds).toEqual(new Set(["a"]));
    store.getState().draftSaved(store.getState().revision, store.getState().graph());
    expect(dirty(store)).toBe(false);
  });

  it("groups the server's problems by step, and a save clears them", () => {
    const store = opened();
    const problems = [
      { step: "a", field: "instruction", message: "empty" },
      { step: null, field: "edges", message: "loop" },
    ];
    store.getState().reportFailure(new ApiError("bad", 400, problems), "Nothing was saved");
    expect(store.getState().problemsByStep).toEqual({ a: [{ step: "a", field: "instruction", message: "empty" }] });
    expect(store.getState().notice).toEqual({ kind: "error", text: "Nothing was saved: 2 problems to fix, listed in the Problems panel at the top left of the canvas." });
    store.getState().draftSaved(store.getState().revision, store.getState().graph());
    expect(store.getState().problems).toEqual([]);
    expect(store.getState().problemsByStep).toEqual({});
  });
});
