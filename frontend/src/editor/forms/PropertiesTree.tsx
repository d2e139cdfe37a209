/**
 * What a step may use in ``{{ }}``: environment variables, trigger fields, upstream steps' outputs and the
 * execution's fields, each with its type. The trigger's fields come from the sample payload in the editor
 * (as it is now, saved or not), else from the server (the saved sample, or the last execution); an upstream
 * step's from its pinned sample output, else from its last run. A click inserts the expression, array
 * items by index, at the instruction's cursor.
 */
import { useMemo, useState } from "react";
import type { Properties, PropertyField } from "../api";
import { fieldsOf, sampleFields, type Sample } from "../samples";

export interface UpstreamStep {
  id: string;
  name: string;
  expression: string;
  sampleOutput?: unknown;
}

interface Props {
  properties: Properties | null;
  upstream: UpstreamStep[];
  sample: Sample | null;
  error: string | null;
  onPick: (expression: string) => void;
}

interface Group {
  title: string;
  empty: string;
  fields: PropertyField[];
}

function example(value: unknown): string {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function allExpressions(properties: Properties | null, upstream: UpstreamStep[], sample: Sample | null): string[] {
  return groupsOf(properties, upstream, sample).flatMap((g) => g.fields.map((f) => f.expression));
}

function triggerGroup(properties: Properties | null, sample: Sample | null): Group {
  if (sample) {
    const read = sampleFields(sample);
    return "error" in read
      ? { title: "Trigger (sample)", empty: read.error, fields: [] }
      : { title: "Trigger (sample)", empty: "", fields: read.fields };
  }
  const source = properties?.trigger_source;
  return {
    title: source ? `Trigger (${source})` : "Trigger",
    empty: "",
    fields: properties?.trigger.length ? properties.trigger : [],
  };
}

function groupsOf(properties: Properties | null, upstream: UpstreamStep[], sample: Sample | null): Group[] {
  const known = new Map((properties?.steps ?? []).map((s) => [s.step, s]));
  const stepFields = upstream.flatMap((step) => {
    if (step.sampleOutput !== undefined) return fieldsOf(step.expression, step.sampleOutput);
    const server = known.get(step.id);
    return server && server.fields.length ? server.fields : [{ expression: step.expression, type: "not run yet" }];
  });
  const trigger = triggerGroup(properties, sample);
  if (!trigger.fields.length && !trigger.empty) trigger.empty = "Set a sample payload (Sample… in the toolbar) or run the flow once to see the trigger's fields.";
  return [
    { title: "Environment", empty: "No variables in this environment.", fields: properties?.env ?? [] },
    trigger,
    { title: "Upstream steps", empty: "Connect a step before this one to use its output.", fields: stepFields },
    { title: "Execution", empty: "", fields: properties?.execution ?? [] },
  ];
}

export function PropertiesTree({ properties, upstream, sample, error, onPick }: Props) {
  const [filter, setFilter] = useState("");
  const groups = useMemo(() => groupsOf(properties, upstream, sample), [properties, upstream, sample]);
  const wanted = filter.trim().toLowerCase();
  return (
    <div className="properties" aria-label="Properties">
      <input
        type="search"
        placeholder="Filter properties…"
        aria-label="Filter properties"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
      {error && <p className="field-error">{error}</p>}
      {groups.map((group) => {
        const fields = group.fields.filter((f) => f.expression.toLowerCase().includes(wanted));
        return (
          <details key={group.title} open>
            <summary>{group.title}</summary>
            {fields.length === 0 && group.empty && !wanted && <p className={group.title.includes("sample") ? "field-error" : "muted small"}>{group.empty}</p>}
            <ul className="tree">
              {fields.map((field) => {
                const depth = (field.expression.match(/[.[]/g) ?? []).length;
                return (
                  <li key={field.expression} style={{ paddingLeft: `${Math.max(depth - 1, 0) * 10}px` }}>
                    <button
                      type="button"
                      className="property"
                      title={`Insert {{ ${field.expression} }} at the cursor`}
                      onClick={() => onPick(field.expression)}
                    >
                      <code>{field.expression}</code>
                      {field.secret && <span className="badge">secret</span>}
                      {field.type && <span className="muted small"> {field.type}</span>}
                      {example(field.example) && <span className="example"> {example(field.example)}</span>}
                    </button>
                  </li>
                );
              })}
            </ul>
          </details>
        );
      })}
    </div>
  );
}
