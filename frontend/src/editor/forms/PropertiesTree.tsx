/**
 * What a step may use in ``{{ }}``: environment variables, trigger fields, upstream steps' outputs (from
 * their last run) and the execution's fields. A click inserts the expression at the instruction's cursor.
 */
import { useMemo, useState } from "react";
import type { Properties, PropertyField } from "../api";

export interface UpstreamStep {
  id: string;
  name: string;
  expression: string;
}

interface Props {
  properties: Properties | null;
  upstream: UpstreamStep[];
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

export function allExpressions(properties: Properties | null, upstream: UpstreamStep[]): string[] {
  return groupsOf(properties, upstream).flatMap((g) => g.fields.map((f) => f.expression));
}

function groupsOf(properties: Properties | null, upstream: UpstreamStep[]): Group[] {
  const known = new Map((properties?.steps ?? []).map((s) => [s.step, s]));
  const stepFields = upstream.flatMap((step) => {
    const server = known.get(step.id);
    return server && server.fields.length ? server.fields : [{ expression: step.expression, type: "not run yet" }];
  });
  return [
    { title: "Environment", empty: "No variables in this environment.", fields: properties?.env ?? [] },
    { title: "Trigger", empty: "Run the flow once to see its trigger fields.", fields: properties?.trigger ?? [] },
    { title: "Upstream steps", empty: "Connect a step before this one to use its output.", fields: stepFields },
    { title: "Execution", empty: "", fields: properties?.execution ?? [] },
  ];
}

export function PropertiesTree({ properties, upstream, error, onPick }: Props) {
  const [filter, setFilter] = useState("");
  const groups = useMemo(() => groupsOf(properties, upstream), [properties, upstream]);
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
            {fields.length === 0 && group.empty && !wanted && <p className="muted small">{group.empty}</p>}
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
