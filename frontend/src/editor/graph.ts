/**
 * The canvas graph as the API stores it (see ARCHITECTURE.md "The graph"), and the pure helpers the
 * editor builds on: ids and names, cycle detection while drawing, copy and paste, the undo stack,
 * auto-layout and the run order. No React here, so Vitest checks them directly.
 */

/** A step kind: ``connector``, ``mapping``, or one the server adds (see ``kinds.ts``). */
export type StepKind = string;

export interface Position {
  x: number;
  y: number;
}

export interface Step {
  id: string;
  kind: StepKind;
  name: string;
  connector?: number | null;
  timeout_ms: number;
  ignore_errors: boolean;
  instruction: string;
  options?: Record<string, unknown>;
  position: Position;
  [key: string]: unknown;
}

export interface GraphEdge {
  source: string;
  target: string;
  [key: string]: unknown;
}

export interface Graph {
  steps: Step[];
  edges: GraphEdge[];
  [key: string]: unknown;
}

export const DEFAULT_TIMEOUT_MS = 3000;
export const MIN_TIMEOUT_MS = 1;
export const MAX_TIMEOUT_MS = 60000;

/** The identifier a step is reachable by in expressions, as the server derives it: "Get customer" -> "get_customer". */
export function referenceKey(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}_]+/gu, "_")
    .replace(/^_+|_+$/g, "");
}

/** The one place step ids come from: the prefix and the smallest number not taken. */
export function nextId(taken: Iterable<string>, prefix = "step-"): string {
  const used = new Set(taken);
  let n = 1;
  while (used.has(`${prefix}${n}`)) n += 1;
  return `${prefix}${n}`;
}

/** ``base``, or ``base 2``, ``base 3``... so that its reference key clashes with no name in ``taken``. */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const keys = new Set([...taken].map(referenceKey));
  const stem = base.replace(/ \d+$/, "").trim() || "Step";
  if (!keys.has(referenceKey(base)) && referenceKey(base)) return base;
  let n = 2;
  while (keys.has(referenceKey(`${stem} ${n}`))) n += 1;
  return `${stem} ${n}`;
}

/** Validation of the step form's timeout as the user types; null when it is fine. */
export function timeoutProblem(text: string): string | null {
  if (!/^\d+$/.test(text.trim())) return "Enter a whole number of milliseconds.";
  const value = Number(text);
  if (value < MIN_TIMEOUT_MS || value > MAX_TIMEOUT_MS) {
    return `The timeout must be between ${MIN_TIMEOUT_MS} and ${MAX_TIMEOUT_MS} ms (it is ${value} ms).`;
  }
  return null;
}

function childrenOf(edges: GraphEdge[]): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const edge of edges) {
    const list = children.get(edge.source) ?? [];
    list.push(edge.target);
    children.set(edge.source, list);
  }
  return children;
}

/**
 * The path ``target -> ... -> source`` that an edge ``source -> target`` would close into a cycle, or null
 * when the edge is safe. A step connected to itself is the path ``[source]``.
 */
export function cyclePath(edges: GraphEdge[], source: string, target: string): string[] | null {
  if (source === target) return [source];
  const children = childrenOf(edges);
  const previous = new Map<string, string>();
  const queue = [target];
  const seen = new Set([target]);
  while (queue.length) {
    const current = queue.shift() as string;
    if (current === source) {
      const path = [current];
      while (path[path.length - 1] !== target) path.push(previous.get(path[path.length - 1]) as string);
      return path.reverse();
    }
    for (const child of children.get(current) ?? []) {
      if (!seen.has(child)) {
        seen.add(child);
        previous.set(child, current);
        queue.push(child);
      }
    }
  }
  return null;
}

/**
 * Why ``source -> target`` may not be drawn (a cycle, an edge that exists already, or one crossing the border
 * of a for-each: its body's steps connect only to each other); null when it may.
 */
export function connectionProblem(
  edges: GraphEdge[],
  source: string,
  target: string,
  nameOf: (id: string) => string,
  groupOf: (id: string) => string | undefined = () => undefined,
): string | null {
  if (edges.some((e) => e.source === source && e.target === target)) {
    return `${nameOf(source)} is already connected to ${nameOf(target)}.`;
  }
  const [from, to] = [groupOf(source), groupOf(target)];
  if (from !== to) {
    const inside = from ? source : target;
    const loop = (from ?? to) as string;
    return `${nameOf(inside)} is inside the for-each ${nameOf(loop)}: steps in a loop connect only to each other; connect ${nameOf(loop)} itself instead.`;
  }
  const path = cyclePath(edges, source, target);
  if (path === null) return null;
  if (path.length === 1) return `A step cannot feed itself: ${nameOf(source)} would run before itself.`;
  const loop = [...path, target].map(nameOf).join(" → ");
  return `That would make a loop (${loop}); a flow runs each step once, in order.`;
}

/** Every step upstream of ``id`` (transitively). */
export function upstreamOf(id: string, edges: GraphEdge[]): Set<string> {
  const parents = new Map<string, string[]>();
  for (const edge of edges) parents.set(edge.target, [...(parents.get(edge.target) ?? []), edge.source]);
  const found = new Set<string>();
  const stack = [...(parents.get(id) ?? [])];
  while (stack.length) {
    const current = stack.pop() as string;
    if (found.has(current)) continue;
    found.add(current);
    stack.push(...(parents.get(current) ?? []));
  }
  return found;
}

function byPosition(a: Step, b: Step): number {
  return a.position.y - b.position.y || a.position.x - b.position.x || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Steps in the order the engine runs them: topological, ties top to bottom, then left to right. */
export function runOrder(steps: Step[], edges: GraphEdge[]): Step[] {
  const byId = new Map(steps.map((s) => [s.id, s]));
  const incoming = new Map(steps.map((s) => [s.id, 0]));
  const children = childrenOf(edges.filter((e) => byId.has(e.source) && byId.has(e.target)));
  for (const [, targets] of children) for (const t of targets) incoming.set(t, (incoming.get(t) ?? 0) + 1);
  const ready = steps.filter((s) => incoming.get(s.id) === 0);
  const ordered: Step[] = [];
  while (ready.length) {
    ready.sort(byPosition);
    const step = ready.shift() as Step;
    ordered.push(step);
    for (const child of children.get(step.id) ?? []) {
      incoming.set(child, (incoming.get(child) ?? 0) - 1);
      if (incoming.get(child) === 0) ready.push(byId.get(child) as Step);
    }
  }
  return ordered;
}

export interface Clip {
  steps: Step[];
  edges: GraphEdge[];
}

/** What Ctrl+C keeps: the chosen steps with their settings and the edges between them. */
export function copySteps(graph: Graph, ids: Iterable<string>): Clip {
  const chosen = new Set(ids);
  return structuredClone({
    steps: graph.steps.filter((s) => chosen.has(s.id)),
    edges: graph.edges.filter((e) => chosen.has(e.source) && chosen.has(e.target)),
  });
}

/**
 * The clip's steps ready to add to ``graph``: new ids and names (settings copied as they are), moved by
 * ``offset``, with the edges between them following the new ids.
 */
export function pasteSteps(graph: Graph, clip: Clip, offset: Position = { x: 40, y: 40 }): Clip {
  const ids = graph.steps.map((s) => s.id);
  const names = graph.steps.map((s) => s.name);
  const renamed = new Map<string, string>();
  const steps: Step[] = clip.steps.map((step) => {
    const id = nextId(ids);
    const name = uniqueName(step.name, names);
    ids.push(id);
    names.push(name);
    renamed.set(step.id, id);
    return {
      ...structuredClone(step),
      id,
      name,
      position: { x: step.position.x + offset.x, y: step.position.y + offset.y },
    };
  });
  // A body step pasted with its for-each follows the copy; pasted alone it stays in its loop.
  for (const step of steps) if (typeof step.group === "string" && renamed.has(step.group)) step.group = renamed.get(step.group);
  const edges = clip.edges
    .filter((e) => renamed.has(e.source) && renamed.has(e.target))
    .map((e) => ({ ...e, source: renamed.get(e.source) as string, target: renamed.get(e.target) as string }));
  return { steps, edges };
}

/** Undo and redo over snapshots of the graph; each change the user makes pushes the state before it. */
export class History<T> {
  private past: T[] = [];
  private future: T[] = [];

  constructor(private readonly limit = 200) {}

  /** Remember ``before`` (the state the change left); a new change forgets what was undone. */
  push(before: T): void {
    this.past.push(structuredClone(before));
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  undo(current: T): T | null {
    const previous = this.past.pop();
    if (previous === undefined) return null;
    this.future.push(structuredClone(current));
    return previous;
  }

  redo(current: T): T | null {
    const next = this.future.pop();
    if (next === undefined) return null;
    this.past.push(structuredClone(current));
    return next;
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }

  get canRedo(): boolean {
    return this.future.length > 0;
  }
}

export const LAYOUT = { columnWidth: 260, rowHeight: 130 };

/**
 * Positions in layers top to bottom: a step sits one row below its lowest parent (longest path from a
 * start), each row centred and ordered by the parents' columns, so edges cross little and the run
 * order (top to bottom) reads as the canvas does. Steps on a cycle (never saved) stay where they are.
 */
export function autoLayout(steps: Step[], edges: GraphEdge[]): Map<string, Position> {
  const ordered = runOrder(steps, edges);
  const level = new Map<string, number>();
  const parents = new Map<string, string[]>();
  for (const e of edges) parents.set(e.target, [...(parents.get(e.target) ?? []), e.source]);
  for (const step of ordered) {
    const above = (parents.get(step.id) ?? []).map((p) => level.get(p) ?? 0);
    level.set(step.id, above.length ? Math.max(...above) + 1 : 0);
  }
  const rows: string[][] = [];
  for (const step of ordered) (rows[level.get(step.id) as number] ??= []).push(step.id);
  const column = new Map<string, number>();
  const positions = new Map<string, Position>();
  rows.forEach((row, depth) => {
    const weight = (id: string) => {
      const cols = (parents.get(id) ?? []).map((p) => column.get(p)).filter((c): c is number => c !== undefined);
      return cols.length ? cols.reduce((a, b) => a + b, 0) / cols.length : 0;
    };
    const sorted = depth === 0 ? row : [...row].sort((a, b) => weight(a) - weight(b));
    sorted.forEach((id, index) => {
      const x = index - (sorted.length - 1) / 2;
      column.set(id, x);
      positions.set(id, { x: Math.round(x * LAYOUT.columnWidth), y: depth * LAYOUT.rowHeight });
    });
  });
  return positions;
}

export interface RunRecord {
  step_id: string;
  status: string;
  duration_ms: number;
  /** ``""`` for a step of the flow itself; ``<for-each id>[<batch>]`` for a step of a loop's body. */
  scope?: string;
  attempt?: number;
  error?: string;
  output?: unknown;
}

export interface RunStatus {
  status: string;
  duration_ms?: number;
  /** Why a skipped step did not run, as the engine recorded it. */
  reason?: string;
  attempt?: number;
  /** For a step of a loop's body: how many items it ran for, and how many of them failed. */
  items?: number;
  failedItems?: number;
}

export const FINAL_EXECUTION_STATUSES = new Set(["succeeded", "completed_with_errors", "failed", "cancelled"]);
const FAILED = new Set(["failed", "timed_out"]);

/** A body step's status over its items: failed when one failed, else the latest item's. */
function overItems(records: RunRecord[]): RunStatus {
  const failed = records.filter((r) => FAILED.has(r.status)).length;
  const last = records[records.length - 1];
  return { status: failed ? "failed" : last.status, items: records.length, failedItems: failed };
}

/**
 * Each step's status while an execution is watched: its record once it finished (a skipped one with its
 * reason); a body step's over its items; before that the first unfinished step in run order is running and
 * the rest are queued; once the execution is over, steps without a record did not run (skipped).
 */
export function runStatuses(executionStatus: string, records: RunRecord[], steps: Step[], edges: GraphEdge[]): Record<string, RunStatus> {
  const result: Record<string, RunStatus> = {};
  const inBody = new Map<string, RunRecord[]>();
  for (const record of records) {
    if (record.scope) inBody.set(record.step_id, [...(inBody.get(record.step_id) ?? []), record]);
    else {
      result[record.step_id] = { status: record.status, duration_ms: record.duration_ms };
      if (record.status === "skipped" && record.error) result[record.step_id].reason = record.error;
      if ((record.attempt ?? 1) > 1) result[record.step_id].attempt = record.attempt;
    }
  }
  for (const [id, list] of inBody) result[id] = overItems(list);
  const final = FINAL_EXECUTION_STATUSES.has(executionStatus);
  let runningShown = false;
  for (const step of runOrder(steps, edges)) {
    if (result[step.id]) continue;
    if (final) result[step.id] = { status: "skipped" };
    else if (executionStatus === "running" && !runningShown && !step.group) {
      result[step.id] = { status: "running" };
      runningShown = true;
    } else result[step.id] = { status: "queued" };
  }
  return result;
}

/**
 * Which edges leaving a router were taken in a run (its output's ``taken``) and which not, by edge id
 * (``source->target``). Edges of steps that are not routers, or of routers that did not run, are left out.
 */
export function branchStates(records: RunRecord[], edges: GraphEdge[]): Record<string, "taken" | "untaken"> {
  const taken = new Map<string, Set<string>>();
  for (const record of records) {
    const output = record.output as { taken?: unknown } | null | undefined;
    if (!output || !Array.isArray(output.taken)) continue;
    const set = taken.get(record.step_id) ?? new Set<string>();
    for (const target of output.taken) set.add(String(target));
    taken.set(record.step_id, set);
  }
  const states: Record<string, "taken" | "untaken"> = {};
  for (const edge of edges) {
    const targets = taken.get(edge.source);
    if (targets) states[`${edge.source}->${edge.target}`] = targets.has(edge.target) ? "taken" : "untaken";
  }
  return states;
}

/** The steps of a for-each's body (``group`` is its id). */
export function bodyOf(steps: Step[], id: string): Step[] {
  return steps.filter((s) => s.group === id);
}

/** How a router's edge reads on the canvas: its order, then its label, its condition or "otherwise". */
export function branchText(edge: Record<string, unknown>): string {
  const order = typeof edge.order === "number" ? `${edge.order} · ` : "";
  const label = typeof edge.label === "string" && edge.label.trim() ? edge.label.trim() : "";
  if (edge.otherwise) return `${order}${label || "otherwise"}`;
  const condition = typeof edge.condition === "string" ? edge.condition.trim() : "";
  const text = label || condition || "no condition";
  return `${order}${text.length > 40 ? `${text.slice(0, 39)}…` : text}`;
}
