/**
 * The step kinds the editor knows, one entry each: what the palette, the node on the canvas and the step
 * form show for it. A kind the server adds is one more entry here; the node, the palette and the form read
 * this table and hold no per-kind code. The connector kind takes its label and language from the step's
 * connector type; the others give them here. ``fields`` are the kind's own settings (``flows/kinds/*.py``),
 * each drawn by the widget its ``type`` names (``forms/KindFields.tsx``).
 */
import type { Catalog } from "./context";
import type { Step } from "./graph";

/** One setting of a kind: the step key it is stored under and how the form asks for it. */
export interface KindField {
  name: string;
  label: string;
  help: string;
  /** expression: {{ }} or JSONata text; int: a whole number (null when empty and ``optional``);
   * flow: a flow picker (its id); headers: a name/value grid; choice: one of ``choices``; sync: the sync form;
   * delay: a pause in ms or a moment (``delay_ms`` / ``until``). */
  type: "expression" | "int" | "bool" | "choice" | "flow" | "headers" | "sync" | "delay";
  min?: number;
  max?: number;
  choices?: { value: string; label: string }[];
  placeholder?: string;
}

export interface StepKindInfo {
  /** The name of a new step, and of the kind in the palette and the form's title. */
  label: string;
  /** The step form's title. */
  title: string;
  /** The icon key (``icons.tsx``) and category (its glyph) of the kind's steps. */
  icon: string;
  category: string;
  /** The palette group it is listed under, and the words that find it in the palette's search. */
  group: string;
  keywords: string;
  /** What a new step's instruction starts as, and the kind's own settings a new step starts with. */
  instruction: string;
  defaults: Record<string, unknown>;
  /** Whether the step has an instruction (connector and mapping steps), its language and label in the form. */
  hasInstruction: boolean;
  language: string | null;
  instructionLabel: string;
  instructionHelp: string;
  /** Which connectors the step may use: any (a connector step), database ones (a sync step), none. */
  connectors: "any" | "database" | null;
  fields: KindField[];
  /** Whether a retry policy applies (``retries`` of the server's kind). */
  retries: boolean;
  /** A router: its outgoing edges carry conditions. A container: a for-each, drawn as a group. */
  routes?: boolean;
  container?: boolean;
  /** The line under the step's name on the canvas. */
  subtitle: (step: Step, catalog: Catalog) => string;
}

const FLOW_CONTROL = "Flow control";
const NO_INSTRUCTION = { instruction: "", hasInstruction: false, language: null, instructionLabel: "", instructionHelp: "" };

const short = (text: unknown, fallback: string) => {
  const value = typeof text === "string" ? text.trim() : "";
  if (!value) return fallback;
  return value.length > 34 ? `${value.slice(0, 33)}…` : value;
};

const connectorLine = (step: Step, catalog: Catalog) => {
  const connector = step.connector != null ? catalog.connectorById.get(step.connector) : undefined;
  if (!connector) return "choose a connector";
  return `${connector.name} · ${catalog.types.get(connector.type)?.label ?? connector.type}`;
};

export const STEP_KINDS: Record<string, StepKindInfo> = {
  connector: {
    label: "Connector step",
    title: "Connector step",
    icon: "database",
    category: "database",
    group: "",
    keywords: "",
    instruction: "",
    defaults: {},
    hasInstruction: true,
    language: null,
    instructionLabel: "Instruction",
    instructionHelp: "In the connector's own language; every {{ }} is filled in when the step runs (as a bound parameter in SQL).",
    connectors: "any",
    fields: [],
    retries: true,
    subtitle: connectorLine,
  },
  mapping: {
    label: "Mapping",
    title: "Mapping step",
    icon: "mapping",
    category: "mapping",
    group: "Transform",
    keywords: "mapping jsonata transform",
    instruction: "{}",
    defaults: {},
    hasInstruction: true,
    language: "jsonata",
    instructionLabel: "Mapping (JSONata)",
    instructionHelp: "The step's output is this expression's value; it reads trigger, env and steps.",
    connectors: null,
    fields: [],
    retries: true,
    subtitle: () => "Mapping · JSONata",
  },
  condition: {
    label: "Condition",
    title: "Condition (router)",
    icon: "condition",
    category: "condition",
    group: FLOW_CONTROL,
    keywords: "condition if router branch switch route",
    ...NO_INSTRUCTION,
    defaults: { mode: "first" },
    connectors: null,
    fields: [
      {
        name: "mode",
        label: "Branches taken",
        help: "Its outgoing edges hold the conditions: click an edge to set its condition, order and label. An 'otherwise' edge is taken when no condition holds.",
        type: "choice",
        choices: [
          { value: "first", label: "The first branch whose condition holds" },
          { value: "all", label: "Every branch whose condition holds" },
        ],
      },
    ],
    retries: true,
    routes: true,
    subtitle: (step) => (step.mode === "all" ? "Router · every true branch" : "Router · first true branch"),
  },
  foreach: {
    label: "For each",
    title: "For each (loop)",
    icon: "foreach",
    category: "foreach",
    group: FLOW_CONTROL,
    keywords: "for each loop iterate items batch",
    ...NO_INSTRUCTION,
    defaults: { items: "", batch_size: 1, concurrency: 1, continue_on_error: false, size: { width: 420, height: 260 } },
    connectors: null,
    fields: [
      {
        name: "items",
        label: "Items (the list to go through)",
        help: "A {{ }} expression or JSONata giving a list. The steps inside the box run once per item and read it as item and index.",
        type: "expression",
        placeholder: "{{ steps.read.rows }}",
      },
      { name: "batch_size", label: "Batch size", help: "Items per run of the body: above 1, item is the list of the batch's items (1 to 10000).", type: "int", min: 1, max: 10000 },
      { name: "concurrency", label: "Concurrency", help: "How many items run at once (1 to 16).", type: "int", min: 1, max: 16 },
      {
        name: "continue_on_error",
        label: "Continue when an item fails",
        help: "On: a failed item is noted and the others still run (the execution ends with errors). Off: the first failed item stops the loop.",
        type: "bool",
      },
    ],
    retries: false,
    container: true,
    subtitle: (step) => `For each · ${short(step.items, "choose the items")}`,
  },
  call_flow: {
    label: "Call flow",
    title: "Call flow",
    icon: "call_flow",
    category: "call_flow",
    group: FLOW_CONTROL,
    keywords: "call flow sub-flow subflow child invoke",
    ...NO_INSTRUCTION,
    defaults: { flow: null, payload: "{{ trigger.payload }}", wait: true },
    connectors: null,
    fields: [
      { name: "flow", label: "Flow to call", help: "Its deployed version in the same environment runs as a child execution with its own log.", type: "flow" },
      { name: "payload", label: "Payload", help: "What the called flow receives as its trigger payload.", type: "expression", placeholder: "{{ trigger.payload }}" },
      {
        name: "wait",
        label: "Wait for the result",
        help: "On: the step's output is the called flow's output, and it fails when that flow fails. Off: the step only starts it.",
        type: "bool",
      },
    ],
    retries: false,
    subtitle: () => "Calls another flow",
  },
  respond: {
    label: "Respond",
    title: "Respond to the caller",
    icon: "respond",
    category: "respond",
    group: FLOW_CONTROL,
    keywords: "respond response reply answer http status webhook",
    ...NO_INSTRUCTION,
    defaults: { status: 200, headers: {}, body: "" },
    connectors: null,
    fields: [
      { name: "status", label: "HTTP status", help: "200 to 599.", type: "int", min: 200, max: 599 },
      { name: "headers", label: "Headers", help: "Values may hold {{ }} expressions; a value must stay on one line.", type: "headers" },
      { name: "body", label: "Body", help: "A {{ }} expression or JSONata; empty: no body.", type: "expression", placeholder: "{{ steps.label }}" },
    ],
    retries: false,
    subtitle: (step) => `Answers ${String(step.status ?? 200)}`,
  },
  delay: {
    label: "Delay",
    title: "Delay / wait until",
    icon: "delay",
    category: "delay",
    group: FLOW_CONTROL,
    keywords: "delay wait pause sleep until timer",
    ...NO_INSTRUCTION,
    defaults: { delay_ms: 1000, until: "" },
    connectors: null,
    fields: [{ name: "delay_ms", label: "Wait", help: "A long wait frees the worker: the execution waits in the database and continues when due.", type: "delay" }],
    retries: false,
    subtitle: (step) => (typeof step.until === "string" && step.until.trim() ? `Until ${short(step.until, "")}` : `Waits ${String(step.delay_ms ?? 0)} ms`),
  },
  sync: {
    label: "Sync rows",
    title: "Sync rows into a table",
    icon: "sync",
    category: "sync",
    group: "Data",
    keywords: "sync rows upsert table database prune delete",
    ...NO_INSTRUCTION,
    defaults: { connector: null, sync: { rows: "", table: "", key: [], mode: "upsert", fields: [], batch_size: 500 } },
    connectors: "database",
    fields: [{ name: "sync", label: "Sync", help: "", type: "sync" }],
    retries: true,
    subtitle: (step, catalog) => {
      const table = (step.sync as { table?: string } | undefined)?.table;
      return `${table ? `${table} ← ` : ""}${connectorLine(step, catalog)}`;
    },
  },
};

export function kindOf(step: Pick<Step, "kind">): StepKindInfo {
  return STEP_KINDS[step.kind] ?? STEP_KINDS.connector;
}

/** The kinds the palette lists beside the connectors (each connector is its own item). */
export const PALETTE_KINDS = Object.entries(STEP_KINDS).filter(([kind]) => kind !== "connector");
