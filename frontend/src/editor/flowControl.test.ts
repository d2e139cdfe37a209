/** The flow-control pieces of the editor: routers' branches, for-each groups, run statuses with scopes, the retry form. */
import type { NodeChange } from "@xyflow/react";
import { describe, expect, it } from "vitest";
import type { Execution, StepRun } from "./api";
import { emptyCatalog } from "./context";
import type { PaletteItem } from "./dnd/DnDContext";
import { containerAt, fromFlow, toEdges, toNodes, type StepNode } from "./flowGraph";
import { branchStates, branchText, connectionProblem, pasteSteps, runStatuses, type Graph, type Step } from "./graph";
import { pollDelay } from "./hooks/useRunPolling";
import { fieldProblem, headersOf, problemsOf } from "./kindValues";
import { STEP_KINDS } from "./kinds";
import { readRetry, retryForm, waits } from "./retry";
import { createEditorStore } from "./store";

function step(id: string, x = 0, y = 0, extra: Partial<Step> = {}): Step {
  return { id, kind: "mapping", name: id.toUpperCase(), timeout_ms: 3000, ignore_errors: false, instruction: "{}", position: { x, y }, ...extra };
}

/** Read → Loop (a for-each at 100,100, 400x300) holding Body; Route → yes / no. */
const looped: Graph = {
  steps: [
    step("read", 0, 0),
    step("loop", 100, 100, { kind: "foreach", items: "{{ steps.read.rows }}", size: { width: 400, height: 300 } }),
    step("body", 150, 200, { group: "loop" }),
    step("route", 0, 500, { kind: "condition", mode: "first" }),
    step("yes", -100, 650),
    step("no", 100, 650),
  ],
  edges: [
    { source: "read", target: "loop" },
    { source: "loop", target: "route" },
    { source: "route", target: "yes", condition: "{{ steps.read.total > 10 }}", order: 1, label: "Big" },
    { source: "route", target: "no", otherwise: true },
  ],
};

function opened(graph: Graph = looped) {
  const store = createEditorStore({ readOnly: false });
  store.getState().loaded(structuredClone(graph), emptyCatalog, []);
  return store;
}

describe("the canvas's nodes and edges", () => {
  it("draws a for-each as a sized parent, its body relative to it and after it, and stores absolute positions", () => {
    const nodes = toNodes(looped);
    const body = nodes.find((n) => n.id === "body") as StepNode;
    expect(body).toMatchObject({ parentId: "loop", position: { x: 50, y: 100 } });
    expect(body.extent).toBeUndefined();
    expect(nodes.findIndex((n) => n.id === "loop")).toBeLessThan(nodes.findIndex((n) => n.id === "body"));
    expect(nodes.find((n) => n.id === "loop")).toMatchObject({ type: "foreach", width: 400, height: 300 });
    const moved = nodes.map((n) => (n.id === "loop" ? { ...n, position: { x: 200, y: 100 }, width: 500 } : n));
    const back = fromFlow(moved, toEdges(looped), {});
    expect(back.steps.find((s) => s.id === "body")?.position).toEqual({ x: 250, y: 200 });
    expect(back.steps.find((s) => s.id === "loop")?.size).toEqual({ width: 500, height: 300 });
  });

  it("keeps a branch's fields through the canvas and marks a router's edges as branches", () => {
    const edges = toEdges(looped);
    expect(edges.find((e) => e.id === "route->yes")).toMatchObject({ type: "branch", data: { condition: "{{ steps.read.total > 10 }}", order: 1, label: "Big" } });
    expect(edges.find((e) => e.id === "read->loop")?.type).toBeUndefined();
    expect(fromFlow(toNodes(looped), edges, {}).edges).toEqual(looped.edges);
  });

  it("finds the for-each a dropped step lands in, below its header", () => {
    expect(containerAt(looped.steps, { x: 300, y: 250 })?.id).toBe("loop");
    expect(containerAt(looped.steps, { x: 300, y: 110 })).toBeUndefined();
    expect(containerAt(looped.steps, { x: 600, y: 250 })).toBeUndefined();
  });

  it("labels a branch by its order and label, its condition, or otherwise", () => {
    expect(branchText({ condition: "{{ x > 1 }}", order: 2 })).toBe("2 · {{ x > 1 }}");
    expect(branchText({ condition: "{{ x > 1 }}", label: " Big " })).toBe("Big");
    expect(branchText({ otherwise: true })).toBe("otherwise");
    expect(branchText({ condition: "x".repeat(60) })).toHaveLength(40);
  });
});

describe("connections and groups", () => {
  const groupOf = (id: string) => (id === "body" || id === "body2" ? "loop" : undefined);
  const name = (id: string) => id.toUpperCase();

  it("refuses an edge across a for-each's border, either way, and allows one inside", () => {
    expect(connectionProblem(looped.edges, "read", "body", name, groupOf)).toMatch(/BODY is inside the for-each LOOP/);
    expect(connectionProblem(looped.edges, "body", "route", name, groupOf)).toMatch(/connect LOOP itself instead/);
    expect(connectionProblem(looped.edges, "body", "body2", name, groupOf)).toBeNull();
  });

  it("puts a step dropped into a for-each in its body, and a new for-each starts with its defaults", () => {
    const store = opened();
    const mapping: PaletteItem = { kind: "mapping", label: "Mapping", icon: "mapping", category: "mapping" };
    store.getState().addStep(mapping, { x: 200, y: 300 });
    store.getState().addStep(mapping, { x: 900, y: 300 });
    const steps = store.getState().graph().steps;
    expect(steps.find((s) => s.name === "Mapping")?.group).toBe("loop");
    expect(steps.find((s) => s.name === "Mapping 2")?.group).toBeUndefined();
    store.getState().addStep({ kind: "foreach", label: "For each", icon: "foreach", category: "foreach" }, { x: 900, y: 900 });
    expect(store.getState().graph().steps.find((s) => s.name === "For each")).toMatchObject({ kind: "foreach", batch_size: 1, concurrency: 1, continue_on_error: false, items: "" });
  });

  it("joins a step dragged onto a for-each, dropping its edges to steps outside, and undo takes it back", () => {
    const store = opened();
    store.getState().dragStarted();
    const change: NodeChange<StepNode> = { type: "position", id: "read", position: { x: 200, y: 250 } };
    store.getState().changeNodes([change]);
    store.getState().dragStopped(undefined, undefined, [{ id: "read" }]);
    const graph = store.getState().graph();
    expect(graph.steps.find((s) => s.id === "read")?.group).toBe("loop");
    expect(graph.edges.some((e) => e.source === "read")).toBe(false);
    expect(store.getState().toasts.at(-1)?.text).toMatch(/READ is now inside LOOP; its 1 connection to steps outside the loop went/);
    store.getState().undo();
    expect(store.getState().graph().steps.find((s) => s.id === "read")?.group).toBeUndefined();
  });

  it("takes a body step dragged out of its for-each's box out of the body, dropping its edges inside, and undo puts it back", () => {
    const inner: Graph = { ...looped, steps: [...looped.steps, step("inner", 300, 300, { group: "loop" })], edges: [...looped.edges, { source: "body", target: "inner" }] };
    const store = opened(inner);
    store.getState().dragStarted();
    // Relative to the box at 100,100: 650,50 is right of it (absolute 750,150).
    store.getState().changeNodes([{ type: "position", id: "body", position: { x: 650, y: 50 } }]);
    store.getState().dragStopped(undefined, undefined, [{ id: "body" }]);
    const graph = store.getState().graph();
    expect(graph.steps.find((s) => s.id === "body")).toMatchObject({ position: { x: 750, y: 150 } });
    expect(graph.steps.find((s) => s.id === "body")).not.toHaveProperty("group");
    expect(graph.edges.some((e) => e.source === "body" || e.target === "body")).toBe(false);
    expect(store.getState().nodes.find((n) => n.id === "body")?.parentId).toBeUndefined();
    expect(store.getState().toasts.at(-1)?.text).toMatch(/BODY is now outside LOOP; its 1 connection to steps inside the loop went/);
    store.getState().undo();
    expect(store.getState().graph().steps.find((s) => s.id === "body")?.group).toBe("loop");
  });

  it("keeps a body step moved within its box in the body", () => {
    const store = opened();
    store.getState().dragStarted();
    store.getState().changeNodes([{ type: "position", id: "body", position: { x: 100, y: 150 } }]);
    store.getState().dragStopped(undefined, undefined, [{ id: "body" }]);
    expect(store.getState().graph().steps.find((s) => s.id === "body")).toMatchObject({ group: "loop", position: { x: 200, y: 250 } });
  });

  it("polls a parked execution every two seconds, a running one every 400 ms", () => {
    expect(pollDelay("waiting")).toBe(2000);
    expect(pollDelay("running")).toBe(400);
    expect(pollDelay("queued")).toBe(400);
  });

  it("removes a for-each with the steps of its body", () => {
    const store = opened();
    store.getState().removeStep("loop");
    expect(store.getState().graph().steps.map((s) => s.id)).toEqual(["read", "route", "yes", "no"]);
  });

  it("pastes a for-each with its body, the copy's body in the copy", () => {
    const pasted = pasteSteps(looped, { steps: looped.steps.filter((s) => s.id === "loop" || s.id === "body"), edges: [] });
    const [loop, body] = pasted.steps;
    expect(body.group).toBe(loop.id);
    expect(loop.id).not.toBe("loop");
  });

  it("sets a branch's fields on its edge and removes those cleared", () => {
    const store = opened();
    store.getState().editEdge("route->no");
    expect(store.getState().editingEdge).toBe("route->no");
    store.getState().saveEdge("route->no", { otherwise: undefined, condition: "{{ true }}", order: 2 });
    const edge = store.getState().graph().edges.find((e) => e.target === "no");
    expect(edge).toEqual({ source: "route", target: "no", condition: "{{ true }}", order: 2 });
    expect(store.getState().editingEdge).toBeNull();
    store.getState().undo();
    expect(store.getState().graph().edges.find((e) => e.target === "no")).toEqual({ source: "route", target: "no", otherwise: true });
  });
});

describe("a watched run", () => {
  const records = [
    { step_id: "read", status: "succeeded", duration_ms: 2, scope: "" },
    { step_id: "body", status: "succeeded", duration_ms: 1, scope: "loop[0]" },
    { step_id: "body", status: "failed", duration_ms: 1, scope: "loop[1]" },
    { step_id: "body", status: "succeeded", duration_ms: 1, scope: "loop[2]", attempt: 2 },
    { step_id: "loop", status: "succeeded", duration_ms: 9, scope: "" },
    { step_id: "route", status: "succeeded", duration_ms: 1, scope: "", output: { taken: ["yes"], branches: ["Big"] }, attempt: 3 },
    { step_id: "no", status: "skipped", duration_ms: 0, scope: "", error: "Not run: branch 'otherwise' of step 'ROUTE' not taken." },
  ];

  it("gives a body step its status over the items, a skipped step its reason, a retried step its attempt", () => {
    const statuses = runStatuses("running", records, looped.steps, looped.edges);
    expect(statuses.body).toEqual({ status: "failed", items: 3, failedItems: 1 });
    expect(statuses.no).toEqual({ status: "skipped", duration_ms: 0, reason: "Not run: branch 'otherwise' of step 'ROUTE' not taken." });
    expect(statuses.route).toMatchObject({ status: "succeeded", attempt: 3 });
    expect(statuses.yes).toEqual({ status: "running" });
  });

  it("tells the branches a router took from those it did not", () => {
    expect(branchStates(records, looped.edges)).toEqual({ "route->yes": "taken", "route->no": "untaken" });
  });

  it("keeps the loops' progress and the branches in the store", () => {
    const store = opened();
    const execution: Execution = {
      id: 3,
      url: "",
      status: "running",
      error: "",
      duration_ms: null,
      steps: records as StepRun[],
      loops: [{ step_id: "loop", name: "LOOP", total: 200, done: 137, failed: 2 }],
    };
    store.getState().applyRunStatus(execution);
    const before = store.getState().statuses.body;
    expect(store.getState().branches["route->no"]).toBe("untaken");
    store.getState().applyRunStatus({ ...execution });
    expect(store.getState().statuses.body).toBe(before);
    store.getState().clearRun();
    expect(store.getState().branches).toEqual({});
  });
});

describe("the retry policy in the step form", () => {
  it("is off for a step without one and reads back the server's defaults when turned on", () => {
    const form = retryForm(undefined);
    expect(form.enabled).toBe(false);
    expect(readRetry(form)).toEqual({ problems: {} });
    const on = readRetry({ ...form, enabled: true });
    expect(on.retry).toMatchObject({ max_attempts: 3, initial_ms: 1000, multiplier: 2, on: { timeout: true, http_status: [429, 502, 503, 504] } });
  });

  it("round-trips a stored policy and names each field that is wrong", () => {
    const stored = { max_attempts: 5, initial_ms: 200, multiplier: 3, max_ms: 1000, jitter: 0, on: { timeout: false, connection: true, http_status: [503], sap_messages: ["V1/042"], db_errors: [] } };
    expect(readRetry(retryForm(stored)).retry).toEqual(stored);
    const bad = readRetry({ ...retryForm(stored), max_attempts: "1", jitter: "2", http_status: "503, teapot" });
    expect(bad.retry).toBeUndefined();
    expect(Object.keys(bad.problems).sort()).toEqual(["http_status", "jitter", "max_attempts"]);
    expect(bad.problems.http_status).toContain("teapot");
  });

  it("explains the waits, capped by the longest", () => {
    expect(waits({ max_attempts: 5, initial_ms: 1000, multiplier: 2, max_ms: 5000 })).toEqual([1000, 2000, 4000, 5000]);
  });
});

describe("a kind's own settings", () => {
  const field = (kind: string, name: string) => STEP_KINDS[kind].fields.find((f) => f.name === name)!;

  it("checks numbers against their range and asks for what a kind needs", () => {
    expect(fieldProblem(field("respond", "status"), { status: 99 })).toMatch(/from 200 to 599/);
    expect(fieldProblem(field("respond", "status"), { status: 201 })).toBeNull();
    expect(fieldProblem(field("foreach", "concurrency"), { concurrency: "many" })).toMatch(/whole number/);
    expect(fieldProblem(field("call_flow", "flow"), { flow: null })).toBe("Choose the flow to call.");
    expect(problemsOf(STEP_KINDS.foreach.fields, { ...STEP_KINDS.foreach.defaults })).toEqual({ items: expect.stringMatching(/which list/) });
  });

  it("wants a delay's pause or its moment, and header names that are names", () => {
    const delay = field("delay", "delay_ms");
    expect(fieldProblem(delay, { delay_ms: null, until: " " })).toMatch(/pause in milliseconds, or a moment/);
    expect(fieldProblem(delay, { delay_ms: null, until: "{{ trigger.payload.due }}" })).toBeNull();
    expect(fieldProblem(delay, { delay_ms: -5, until: "" })).toMatch(/at most thirty days/);
    expect(fieldProblem(field("respond", "headers"), { headers: { "Bad Name": "x" } })).toMatch(/“Bad Name” is not a header name/);
    expect(headersOf([["X-A", "1"], ["  ", "dropped"], [" X-B ", "{{ x }}"]])).toEqual({ "X-A": "1", "X-B": "{{ x }}" });
  });
});
