/**
 * The settings of a step's kind (``kinds.ts`` ``fields``), each drawn by the widget its type names: an
 * expression box, a number, a switch, a choice, the flow picker, the headers grid, the pause of a delay,
 * the sync form. The values live in the step form until it is saved.
 */
import { useEffect, useState } from "react";
import { api, type FlowBrief } from "../api";
import type { Catalog } from "../context";
import type { KindField } from "../kinds";
import { headersOf, type Values } from "../kindValues";
import { SyncForm } from "./SyncForm";

interface Props {
  fields: KindField[];
  values: Values;
  problems: Record<string, string>;
  readOnly: boolean;
  catalog: Catalog;
  /** Outputs of the steps upstream by reference key (pinned or from the last run), for the sync preview. */
  outputs: Record<string, unknown>;
  onChange: (changes: Values) => void;
}

function Help({ field, problem }: { field: KindField; problem?: string }) {
  return <p className={problem ? "field-error" : "help"}>{problem ?? field.help}</p>;
}

function FlowPicker({ field, value, readOnly, onChange }: { field: KindField; value: unknown; readOnly: boolean; onChange: (v: number | null) => void }) {
  const [flows, setFlows] = useState<FlowBrief[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.flows().then(setFlows, (e: Error) => setError(`Could not list the flows: ${e.message}`));
  }, []);
  return (
    <>
      <select id={`kind-${field.name}`} value={typeof value === "number" ? value : ""} disabled={readOnly} onChange={(e) => onChange(e.target.value ? Number(e.target.value) : null)}>
        <option value="">{flows ? "Choose a flow…" : "Loading the flows…"}</option>
        {(flows ?? []).map((flow) => (
          <option key={flow.id} value={flow.id}>
            {flow.name} ({flow.slug})
          </option>
        ))}
      </select>
      {error && <p className="field-error">{error}</p>}
    </>
  );
}

function HeadersGrid({ value, readOnly, onChange }: { value: unknown; readOnly: boolean; onChange: (v: Record<string, string>) => void }) {
  const [rows, setRows] = useState<[string, string][]>(() => Object.entries((value ?? {}) as Record<string, string>));
  const update = (next: [string, string][]) => {
    setRows(next);
    onChange(headersOf(next));
  };
  return (
    <div className="grid-rows" role="group" aria-label="Headers">
      {rows.map(([name, text], index) => (
        <div className="grid-row" key={index}>
          <input aria-label={`Header ${index + 1} name`} placeholder="Content-Type" value={name} readOnly={readOnly} onChange={(e) => update(rows.map((r, i) => (i === index ? [e.target.value, r[1]] : r)))} />
          <input aria-label={`Header ${index + 1} value`} placeholder="application/json" value={text} readOnly={readOnly} onChange={(e) => update(rows.map((r, i) => (i === index ? [r[0], e.target.value] : r)))} />
          {!readOnly && (
            <button type="button" aria-label={`Remove header ${index + 1}`} onClick={() => update(rows.filter((_, i) => i !== index))}>
              ×
            </button>
          )}
        </div>
      ))}
      {!readOnly && (
        <button type="button" onClick={() => setRows([...rows, ["", ""]])}>
          Add a header
        </button>
      )}
    </div>
  );
}

function DelayField({ values, readOnly, onChange }: { values: Values; readOnly: boolean; onChange: (changes: Values) => void }) {
  const until = values.delay_ms === null || values.delay_ms === undefined;
  return (
    <>
      <fieldset className="choice-row">
        <legend className="visually-hidden">Wait for a time or until a moment</legend>
        <label>
          <input type="radio" name="delay-how" checked={!until} disabled={readOnly} onChange={() => onChange({ delay_ms: 1000, until: "" })} /> For a time
        </label>
        <label>
          <input type="radio" name="delay-how" checked={until} disabled={readOnly} onChange={() => onChange({ delay_ms: null, until: "" })} /> Until a moment
        </label>
      </fieldset>
      {until ? (
        <input
          id="kind-until"
          aria-label="Wait until"
          className="mono-input"
          placeholder="{{ trigger.payload.due_at }}"
          value={String(values.until ?? "")}
          readOnly={readOnly}
          onChange={(e) => onChange({ until: e.target.value })}
        />
      ) : (
        <input
          id="kind-delay_ms"
          aria-label="Pause (ms)"
          inputMode="numeric"
          value={values.delay_ms === undefined ? "" : String(values.delay_ms)}
          readOnly={readOnly}
          onChange={(e) => onChange({ delay_ms: /^\d+$/.test(e.target.value.trim()) ? Number(e.target.value) : e.target.value })}
        />
      )}
    </>
  );
}

export function KindFields({ fields, values, problems, readOnly, catalog, outputs, onChange }: Props) {
  return (
    <>
      {fields.map((field) => {
        const id = `kind-${field.name}`;
        const value = values[field.name];
        const set = (v: unknown) => onChange({ [field.name]: v });
        if (field.type === "sync") {
          return <SyncForm key={field.name} values={values} catalog={catalog} outputs={outputs} readOnly={readOnly} onChange={onChange} />;
        }
        if (field.type === "bool") {
          return (
            <div className="field" key={field.name}>
              <label className="switch-row" htmlFor={id}>
                <input id={id} type="checkbox" role="switch" checked={Boolean(value)} disabled={readOnly} onChange={(e) => set(e.target.checked)} />
                {field.label}
              </label>
              <Help field={field} problem={problems[field.name]} />
            </div>
          );
        }
        return (
          <div className="field" key={field.name}>
            {field.type === "delay" ? <span className="label">{field.label}</span> : <label htmlFor={id}>{field.label}</label>}
            {field.type === "expression" && (
              <textarea id={id} className="code-input plain" rows={2} placeholder={field.placeholder} value={String(value ?? "")} readOnly={readOnly} aria-invalid={!!problems[field.name]} onChange={(e) => set(e.target.value)} />
            )}
            {field.type === "int" && (
              <input
                id={id}
                inputMode="numeric"
                value={value === undefined || value === null ? "" : String(value)}
                readOnly={readOnly}
                aria-invalid={!!problems[field.name]}
                onChange={(e) => set(/^-?\d+$/.test(e.target.value.trim()) ? Number(e.target.value) : e.target.value)}
              />
            )}
            {field.type === "choice" && (
              <select id={id} value={String(value ?? "")} disabled={readOnly} onChange={(e) => set(e.target.value)}>
                {(field.choices ?? []).map((c) => (
                  <option key={c.value} value={c.value}>
                    {c.label}
                  </option>
                ))}
              </select>
            )}
            {field.type === "flow" && <FlowPicker field={field} value={value} readOnly={readOnly} onChange={set} />}
            {field.type === "headers" && <HeadersGrid value={value} readOnly={readOnly} onChange={set} />}
            {field.type === "delay" && <DelayField values={values} readOnly={readOnly} onChange={onChange} />}
            <Help field={field} problem={problems[field.name]} />
          </div>
        );
      })}
    </>
  );
}
