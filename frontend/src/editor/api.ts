/**
 * The REST API the editor talks to (same origin, session cookie, Django's CSRF token). Errors become
 * ``ApiError`` carrying the server's message and, for graphs, its problems per step.
 */
import type { Graph } from "./graph";

export interface Field {
  name: string;
  label: string;
  help: string;
  kind: "str" | "text" | "int" | "bool" | "choice" | "path" | "url";
  required: boolean;
  default: unknown;
  choices: { value: string; label: string }[];
  min: number | null;
  max: number | null;
}

export interface ConnectorType {
  key: string;
  label: string;
  category: string;
  icon: string;
  description: string;
  language: string;
  step_options: Field[];
}

export interface Connector {
  id: number;
  name: string;
  type: string;
  type_label: string;
  description: string;
  environments: string[];
}

export interface Problem {
  step: string | null;
  field: string;
  message: string;
  line?: number;
  column?: number;
}

export interface InstructionProblem {
  line: number;
  column: number;
  message: string;
}

/** One parameter of an SAP function module, as ``/connectors/{id}/sap-functions/{NAME}/`` describes it. */
export interface SapParameter {
  name: string;
  direction: "import" | "export" | "changing" | "tables";
  type: string;
  length: number;
  optional: boolean;
  description: string;
}

export interface PropertyField {
  expression: string;
  type?: string;
  example?: unknown;
  secret?: boolean;
}

export interface Properties {
  env: PropertyField[];
  trigger: PropertyField[];
  steps: { step: string; name: string; expression: string; has_run: boolean; source?: string | null; fields: PropertyField[] }[];
  execution: PropertyField[];
  trigger_source?: string | null;
}

export interface StepRun {
  position: number;
  step_id: string;
  /** ``""``, or ``<for-each id>[<batch>]`` for a step of a loop's body, with ``item`` its batch. */
  scope?: string;
  item?: number | null;
  attempt?: number;
  wait_ms?: number | null;
  name: string;
  kind: string;
  status: string;
  started: string;
  finished: string;
  duration_ms: number;
  instruction: string;
  params: unknown;
  output: unknown;
  output_truncated: boolean;
  error: string;
}

export interface Execution {
  id: number;
  url: string;
  status: string;
  error: string;
  duration_ms: number | null;
  flow?: { slug: string };
  input?: { payload?: unknown };
  steps?: StepRun[];
  /** Per for-each that started: its batches, how many finished, how many failed. */
  loops?: LoopProgress[];
  children?: number[];
}

export interface LoopProgress {
  step_id: string;
  name: string;
  total: number;
  done: number;
  failed: number;
}

export interface FlowBrief {
  id: number;
  slug: string;
  name: string;
}

/** A table's columns and unique indexes, as the connector's live schema gives them. */
export interface TableSchema {
  name: string;
  columns: { name: string; type: string; nullable: boolean; default: unknown }[];
  unique_indexes: { name: string; primary: boolean; columns: string[] }[];
}

export interface SyncPreview {
  rows: { values?: Record<string, unknown>; errors?: Record<string, string> }[];
  problems: string[];
}

export interface Version {
  number: number;
  message: string;
  author: string | null;
  created: string;
  deployed_to: string[];
}

export interface Environment {
  slug: string;
  name: string;
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly problems: Problem[] = [],
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : (document.querySelector<HTMLInputElement>("[name=csrfmiddlewaretoken]")?.value ?? "");
}

function messageOf(body: Record<string, unknown> | null, status: number): string {
  if (body && typeof body.detail === "string") return body.detail;
  if (body && body.errors && typeof body.errors === "object") {
    return Object.entries(body.errors as Record<string, string[]>)
      .map(([field, messages]) => `${field}: ${[messages].flat().join(" ")}`)
      .join("; ");
  }
  return `The server answered ${status}.`;
}

export async function request<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const response = await fetch(url, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const record = (data && typeof data === "object" ? data : null) as Record<string, unknown> | null;
    throw new ApiError(messageOf(record, response.status), response.status, (record?.problems as Problem[]) ?? []);
  }
  return data as T;
}

const API = "/api/v1";
const flowUrl = (slug: string) => `${API}/flows/${encodeURIComponent(slug)}`;

export const api = {
  connectorTypes: () => request<ConnectorType[]>("GET", `${API}/connector-types/`),
  connectors: async () => (await request<{ results: Connector[] }>("GET", `${API}/connectors/?limit=500`)).results,
  environments: async () => (await request<{ results: Environment[] }>("GET", `${API}/environments/?limit=100`)).results,
  draft: (slug: string) => request<{ graph: Graph; updated: string }>("GET", `${flowUrl(slug)}/draft/`),
  saveDraft: (slug: string, graph: Graph) => request<{ graph: Graph; updated: string }>("PUT", `${flowUrl(slug)}/draft/`, graph),
  validate: (slug: string, graph: Graph) =>
    request<{ valid: boolean; problems: Problem[] }>("POST", `${flowUrl(slug)}/validate/`, graph),
  publish: (slug: string, message: string) => request<Version>("POST", `${flowUrl(slug)}/publish/`, { message }),
  deploy: (slug: string, environment: string) =>
    request<{ environment: string; version: number }>("POST", `${flowUrl(slug)}/deploy/`, { environment }),
  versions: async (slug: string) => (await request<{ results: Version[] }>("GET", `${flowUrl(slug)}/versions/?limit=20`)).results,
  properties: (slug: string, step: string | null, environment = "sandbox") => {
    const query = new URLSearchParams({ environment });
    if (step) query.set("step", step);
    return request<Properties>("GET", `${flowUrl(slug)}/properties/?${query}`);
  },
  // With a connector, SQL is checked in that database's own quoting rules (as saving does).
  checkInstruction: (language: string, text: string, connector: number | null) =>
    request<{ problems: InstructionProblem[] }>("POST", `${API}/instructions/check/`, {
      language,
      text,
      ...(connector != null ? { connector } : {}),
    }),
  formatInstruction: (language: string, text: string) =>
    request<{ text: string }>("POST", `${API}/instructions/format/`, { language, text }),
  sapFunctions: async (connector: number, q: string) =>
    (await request<{ results: { name: string; description: string }[] }>(
      "GET",
      `${API}/connectors/${connector}/sap-functions/?${new URLSearchParams({ q })}`,
    )).results,
  sapFunction: (connector: number, name: string, environment = "sandbox") =>
    request<{ name: string; description: string; parameters: SapParameter[] }>(
      "GET",
      `${API}/connectors/${connector}/sap-functions/${encodeURIComponent(name)}/?${new URLSearchParams({ environment })}`,
    ),
  flows: async () => (await request<{ results: FlowBrief[] }>("GET", `${API}/flows/?limit=500`)).results,
  schemaTables: async (connector: number, environment = "sandbox") =>
    (await request<{ results: { name: string; type: string }[] }>(
      "GET",
      `${API}/connectors/${connector}/schema/tables/?${new URLSearchParams({ environment })}`,
    )).results,
  schemaTable: (connector: number, table: string, environment = "sandbox") =>
    request<TableSchema>("GET", `${API}/connectors/${connector}/schema/tables/${encodeURIComponent(table)}/?${new URLSearchParams({ environment })}`),
  syncCheck: (connector: number, sync: unknown, environment = "sandbox") =>
    request<{ problems: string[]; warnings: string[] }>("POST", `${API}/connectors/${connector}/sync-check/`, { environment, sync }),
  syncPreview: (connector: number, sync: unknown, rows: unknown[]) =>
    request<SyncPreview>("POST", `${API}/connectors/${connector}/sync-preview/`, { sync, rows }),
  run: (slug: string, payload: unknown) => request<Execution>("POST", `${flowUrl(slug)}/run/`, { payload }),
  execution: (id: number) => request<Execution>("GET", `${API}/executions/${id}/`),
};
