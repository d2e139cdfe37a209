/**
 * The step kinds the editor knows, one entry each: what the palette, the node on the canvas and the step
 * form show for it. A kind the server adds (condition, for-each...) is one more entry here; the node, the
 * palette and the form read this table and hold no per-kind code. The connector kind takes its label and
 * language from the step's connector type; the others give them here.
 */
import type { Catalog } from "./context";
import type { Step } from "./graph";

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
  /** What a new step's instruction starts as. */
  instruction: string;
  /** The instruction's language and its label in the form (null: the connector type's). */
  language: string | null;
  instructionLabel: string;
  instructionHelp: string;
  /** The line under the step's name on the canvas. */
  subtitle: (step: Step, catalog: Catalog) => string;
}

export const STEP_KINDS: Record<string, StepKindInfo> = {
  connector: {
    label: "Connector step",
    title: "Connector step",
    icon: "database",
    category: "database",
    group: "",
    keywords: "",
    instruction: "",
    language: null,
    instructionLabel: "Instruction",
    instructionHelp: "In the connector's own language; every {{ }} is filled in when the step runs (as a bound parameter in SQL).",
    subtitle: (step, catalog) => {
      const connector = step.connector != null ? catalog.connectorById.get(step.connector) : undefined;
      if (!connector) return "choose a connector";
      return `${connector.name} · ${catalog.types.get(connector.type)?.label ?? connector.type}`;
    },
  },
  mapping: {
    label: "Mapping",
    title: "Mapping step",
    icon: "mapping",
    category: "mapping",
    group: "Transform",
    keywords: "mapping jsonata transform",
    instruction: "{}",
    language: "jsonata",
    instructionLabel: "Mapping (JSONata)",
    instructionHelp: "The step's output is this expression's value; it reads trigger, env and steps.",
    subtitle: () => "Mapping · JSONata",
  },
};

export function kindOf(step: Pick<Step, "kind">): StepKindInfo {
  return STEP_KINDS[step.kind] ?? STEP_KINDS.connector;
}

/** The kinds the palette lists beside the connectors (each connector is its own item). */
export const PALETTE_KINDS = Object.entries(STEP_KINDS).filter(([kind]) => kind !== "connector");
