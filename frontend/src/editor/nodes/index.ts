/** The map of step kinds to components, at module scope so React Flow never sees a new object: one node for every kind. */
import { STEP_KINDS } from "../kinds";
import { KindNode } from "./KindNode";

export const nodeTypes = Object.fromEntries(Object.keys(STEP_KINDS).map((kind) => [kind, KindNode]));
export type { StepNode } from "../flowGraph";
