/** The graph as the API stores it, and as React Flow draws it: steps become nodes, edges get an id. */
import type { Edge, Node } from "@xyflow/react";
import type { Graph, Step } from "./graph";
import { STEP_KINDS } from "./kinds";

export type StepNode = Node<{ step: Step }, string>;

export function toNodes(graph: Graph, selected: Set<string> = new Set()): StepNode[] {
  return graph.steps.map((step) => ({
    id: step.id,
    type: step.kind in STEP_KINDS ? step.kind : "connector",
    position: { ...step.position },
    data: { step },
    selected: selected.has(step.id),
  }));
}

export function toEdges(graph: Graph): Edge[] {
  return graph.edges.map((edge) => ({ ...edge, id: `${edge.source}->${edge.target}` }));
}

/** Back to the stored graph, positions rounded; ``extra`` carries the graph's other keys as they came. */
export function fromFlow(nodes: StepNode[], edges: Edge[], extra: Record<string, unknown>): Graph {
  return {
    ...extra,
    steps: nodes.map((node) => ({ ...node.data.step, position: { x: Math.round(node.position.x), y: Math.round(node.position.y) } })),
    edges: edges.map(({ source, target, data }) => ({ ...(data as Record<string, unknown> | undefined), source, target })),
  };
}
