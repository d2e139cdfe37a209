/** The maps of step kinds and edge types to components, at module scope so React Flow never sees a new object. */
import { STEP_KINDS } from "../kinds";
import { BranchEdge } from "./BranchEdge";
import { ForEachNode } from "./ForEachNode";
import { KindNode } from "./KindNode";

export const nodeTypes = Object.fromEntries(Object.entries(STEP_KINDS).map(([kind, info]) => [kind, info.container ? ForEachNode : KindNode]));
export const edgeTypes = { branch: BranchEdge };
export type { StepNode } from "../flowGraph";
