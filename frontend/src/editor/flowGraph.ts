/**
 * The graph as the API stores it, and as React Flow draws it: steps become nodes, edges get an id and keep
 * their branch fields (condition, otherwise, order, label) in ``data``. A for-each is a group node (its
 * ``size`` is kept in the step) and its body's steps are its children: React Flow wants them after their
 * parent and positioned relative to it; the stored graph keeps absolute positions. They are not held inside
 * the box: one dragged out of it leaves the body (the store's ``dragStopped``).
 */
import type { Edge, Node } from "@xyflow/react";
import type { Graph, GraphEdge, Position, Step } from "./graph";
import { STEP_KINDS } from "./kinds";

export type StepNode = Node<{ step: Step }, string>;

export const DEFAULT_GROUP_SIZE = { width: 420, height: 260 };

export function sizeOf(step: Step): { width: number; height: number } {
  const size = step.size as { width?: unknown; height?: unknown } | undefined;
  const width = typeof size?.width === "number" ? size.width : DEFAULT_GROUP_SIZE.width;
  const height = typeof size?.height === "number" ? size.height : DEFAULT_GROUP_SIZE.height;
  return { width, height };
}

const isContainer = (step: Step | undefined) => !!step && !!STEP_KINDS[step.kind]?.container;

export function toNodes(graph: Graph, selected: Set<string> = new Set()): StepNode[] {
  const byId = new Map(graph.steps.map((s) => [s.id, s]));
  const parentOf = (step: Step) => (typeof step.group === "string" && isContainer(byId.get(step.group)) ? (byId.get(step.group) as Step) : undefined);
  const node = (step: Step): StepNode => {
    const parent = parentOf(step);
    const base: StepNode = {
      id: step.id,
      type: step.kind in STEP_KINDS ? step.kind : "connector",
      position: parent ? { x: step.position.x - parent.position.x, y: step.position.y - parent.position.y } : { ...step.position },
      data: { step },
      selected: selected.has(step.id),
    };
    if (parent) Object.assign(base, { parentId: parent.id });
    if (isContainer(step)) Object.assign(base, { ...sizeOf(step), zIndex: -1 });
    return base;
  };
  // Parents before their children, as React Flow requires.
  const ordered = [...graph.steps.filter((s) => !parentOf(s)), ...graph.steps.filter((s) => parentOf(s))];
  return ordered.map(node);
}

/** The edges of a router are "branch" edges: their label shows their condition and order. */
export function toEdges(graph: Graph): Edge[] {
  const routers = new Set(graph.steps.filter((s) => STEP_KINDS[s.kind]?.routes).map((s) => s.id));
  return graph.edges.map(({ source, target, ...data }) => ({
    id: `${source}->${target}`,
    source,
    target,
    data,
    ...(routers.has(source) ? { type: "branch" } : {}),
  }));
}

/** Back to the stored graph, positions absolute and rounded; ``extra`` carries the graph's other keys as they came. */
export function fromFlow(nodes: StepNode[], edges: Edge[], extra: Record<string, unknown>): Graph {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const absolute = (node: StepNode): Position => {
    const parent = node.parentId ? byId.get(node.parentId) : undefined;
    const offset = parent ? absolute(parent) : { x: 0, y: 0 };
    return { x: Math.round(node.position.x + offset.x), y: Math.round(node.position.y + offset.y) };
  };
  return {
    ...extra,
    steps: nodes.map((node) => {
      const step: Step = { ...node.data.step, position: absolute(node) };
      if (isContainer(step) && typeof node.width === "number" && typeof node.height === "number") {
        step.size = { width: Math.round(node.width), height: Math.round(node.height) };
      }
      return step;
    }),
    edges: edges.map(({ source, target, data }) => ({ ...(data as Record<string, unknown> | undefined), source, target }) as GraphEdge),
  };
}

/** The for-each whose box holds ``point`` (absolute), if any: where a dropped step lands. */
export function containerAt(steps: Step[], point: Position): Step | undefined {
  return steps
    .filter(isContainer)
    .find((s) => {
      const { width, height } = sizeOf(s);
      return point.x >= s.position.x && point.x <= s.position.x + width && point.y >= s.position.y + 40 && point.y <= s.position.y + height;
    });
}
