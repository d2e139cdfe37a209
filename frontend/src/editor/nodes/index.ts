/** The map of step kinds to components, at module scope so React Flow never sees a new object. */
import { ConnectorNode } from "./ConnectorNode";
import { MappingNode } from "./MappingNode";

export const nodeTypes = { connector: ConnectorNode, mapping: MappingNode };
export type { StepNode } from "../flowGraph";
