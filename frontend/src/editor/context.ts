/** What the canvas's step components read besides their own step: the catalog, run statuses, problems, actions. */
import { createContext, useContext } from "react";
import type { Connector, ConnectorType, Problem } from "./api";

export interface Catalog {
  types: Map<string, ConnectorType>;
  connectors: Connector[];
  connectorById: Map<number, Connector>;
}

export interface StepStatus {
  status: string;
  duration_ms?: number;
}

export interface CanvasInfo {
  catalog: Catalog;
  statuses: Record<string, StepStatus>;
  problems: Record<string, Problem[]>;
  readOnly: boolean;
  edit: (id: string) => void;
  duplicate: (id: string) => void;
  remove: (id: string) => void;
  showRun: (id: string) => void;
}

export const emptyCatalog: Catalog = { types: new Map(), connectors: [], connectorById: new Map() };

export const CanvasContext = createContext<CanvasInfo | null>(null);

export function useCanvas(): CanvasInfo {
  const info = useContext(CanvasContext);
  if (!info) throw new Error("useCanvas outside the editor");
  return info;
}

export const STATUS_LABELS: Record<string, string> = {
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timed out",
  error_ignored: "error ignored",
  skipped: "not run",
};
