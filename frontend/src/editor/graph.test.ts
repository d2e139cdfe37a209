import { describe, expect, it } from "vitest";
import {
  History,
  autoLayout,
  connectionProblem,
  copySteps,
  cyclePath,
  nextId,
  pasteSteps,
  referenceKey,
  runOrder,
  runStatuses,
  timeoutProblem,
  uniqueName,
  type Graph,
  type Step,
} from "./graph";

function step(id: string, y = 0, x = 0, extra: Partial<Step> = {}): Step {
  return { id, kind: "mapping", name: id.toUpperCase(), timeout_ms: 3000, ignore_errors: false, instruction: "{}", position: { x, y }, ...extra };
}

const chain: Graph = {
  steps: [step("a", 0), step("b", 100), step("c", 200)],
  edges: [
    { source: "a", target: "b" },
    { source: "b", target: "c" },
  ],
};

describe("cycle detection", () => {
  it("finds the path an edge would close into a loop", () => {
    expect(cyclePath(chain.edges, "c", "a")).toEqual(["a", "b", "c"]);
    expect(cyclePath(chain.edges, "a", "c")).toBeNull();
  });

  it("refuses a step feeding itself and a duplicate edge, and names the loop", () => {
    const name = (id: string) => id.toUpperCase();
    expect(connectionProblem(chain.edges, "b", "b", name)).toContain("cannot feed itself");
    expect(connectionProblem(chain.edges, "a", "b", name)).toContain("already connected");
    expect(connectionProblem(chain.edges, "c", "a", name)).toBe(
      "That would make a loop (A → B → C → A); a flow runs each step once, in order.",
    );
    expect(connectionProblem(chain.edges, "a", "c", name)).toBeNull();
  });
});

describe("ids and names", () => {
  it("takes the smallest free id", () => {
    expect(nextId(["step-1", "step-3"])).toBe("step-2");
    expect(nextId([])).toBe("step-1");
  });

  it("numbers a name whose reference key is taken, as the server compares names", () => {
    expect(referenceKey(" Get customer! ")).toBe("get_customer");
    expect(uniqueName("Get customer", ["get-customer"])).toBe("Get customer 2");
    expect(uniqueName("Get customer 2", ["Get customer", "Get customer 2"])).toBe("Get customer 3");
    expect(uniqueName("Fresh", ["Other"])).toBe("Fresh");
  });

  it("checks the timeout as the user types it", () => {
    expect(timeoutProblem("3000")).toBeNull();
    expect(timeoutProblem("70000")).toContain("between 1 and 60000 ms");
    expect(timeoutProblem("0")).toContain("between 1 and 60000 ms");
    expect(timeoutProblem("3s")).toBe("Enter a whole number of milliseconds.");
  });
});

describe("copy and paste", () => {
  it("gives pasted steps new ids and names, keeps their settings and the edges between them", () => {
    const withSettings: Graph = {
      ...chain,
      steps: chain.steps.map((s) => (s.id === "b" ? { ...s, instruction: "$x", ignore_errors: true, timeout_ms: 900 } : s)),
    };
    const clip = copySteps(withSettings, ["b", "c"]);
    expect(clip.edges).toEqual([{ source: "b", target: "c" }]);
    const pasted = pasteSteps(withSettings, clip, { x: 10, y: 20 });
    expect(pasted.steps.map((s) => s.id)).toEqual(["step-1", "step-2"]);
    expect(pasted.steps.map((s) => s.name)).toEqual(["B 2", "C 2"]);
    expect(pasted.steps[0]).toMatchObject({ instruction: "$x", ignore_errors: true, timeout_ms: 900, position: { x: 10, y: 120 } });
    expect(pasted.edges).toEqual([{ source: "step-1", target: "step-2" }]);
  });

  it("does not share objects with the copied steps", () => {
    const clip = copySteps(chain, ["a"]);
    clip.steps[0].name = "changed";
    expect(chain.steps[0].name).toBe("A");
  });
});

describe("undo stack", () => {
  it("undoes and redoes in order, and a new change forgets what was undone", () => {
    const history = new History<number[]>();
    history.push([1]);
    history.push([1, 2]);
    expect(history.undo([1, 2, 3])).toEqual([1, 2]);
    expect(history.undo([1, 2])).toEqual([1]);
    expect(history.undo([1])).toBeNull();
    expect(history.redo([1])).toEqual([1, 2]);
    history.push([1, 2]);
    expect(history.canRedo).toBe(false);
    expect(history.canUndo).toBe(true);
  });

  it("keeps copies, so later changes to a state do not rewrite history", () => {
    const history = new History<{ n: number }>();
    const state = { n: 1 };
    history.push(state);
    state.n = 2;
    expect(history.undo(state)).toEqual({ n: 1 });
  });

  it("keeps at most its limit of states", () => {
    const history = new History<number>(2);
    [1, 2, 3].forEach((n) => history.push(n));
    expect(history.undo(4)).toBe(3);
    expect(history.undo(3)).toBe(2);
    expect(history.undo(2)).toBeNull();
  });
});

describe("auto-layout and run order", () => {
  it("puts each step one row below its lowest parent and centres the rows", () => {
    const graph: Graph = {
      steps: [step("a", 500), step("b", 0), step("c", 0, 50), step("d", 0)],
      edges: [
        { source: "a", target: "b" },
        { source: "a", target: "c" },
        { source: "b", target: "d" },
        { source: "c", target: "d" },
      ],
    };
    const positions = autoLayout(graph.steps, graph.edges);
    expect(positions.get("a")).toEqual({ x: 0, y: 0 });
    expect(positions.get("b")?.y).toBe(130);
    expect(positions.get("c")?.y).toBe(130);
    expect((positions.get("b")?.x ?? 0) + (positions.get("c")?.x ?? 0)).toBe(0);
    expect(positions.get("d")).toEqual({ x: 0, y: 260 });
  });

  it("orders ready steps top to bottom, then left to right, as the engine does", () => {
    const steps = [step("late", 300), step("right", 0, 200), step("left", 0, 0)];
    expect(runOrder(steps, []).map((s) => s.id)).toEqual(["left", "right", "late"]);
  });

  it("shows the first unfinished step as running and, once over, the rest as not run", () => {
    const records = [{ step_id: "a", status: "succeeded", duration_ms: 2 }];
    expect(runStatuses("running", records, chain.steps, chain.edges)).toEqual({
      a: { status: "succeeded", duration_ms: 2 },
      b: { status: "running" },
      c: { status: "queued" },
    });
    const failed = [...records, { step_id: "b", status: "failed", duration_ms: 3 }];
    expect(runStatuses("failed", failed, chain.steps, chain.edges).c).toEqual({ status: "skipped" });
  });
});
