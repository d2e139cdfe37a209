/** What the editor's parts share besides the graph: the catalog of connectors, run statuses and their labels. */
import type { Connector, ConnectorType } from "./api";

export interface Catalog {
  types: Map<string, ConnectorType>;
  connectors: Connector[];
  connectorById: Map<number, Connector>;
}

export type { RunStatus as StepStatus } from "./graph";

export const emptyCatalog: Catalog = { types: new Map(), connectors: [], connectorById: new Map() };

export const STATUS_LABELS: Record<string, string> = {
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timed out",
  error_ignored: "error ignored",
  skipped: "not run",
  retrying: "retrying",
  waiting: "waiting",
  completed_with_errors: "completed with errors",
  cancelled: "cancelled",
};
