/** One of the options a connector's type declares for its steps: a switch, a choice, a number or a text. */
import type { Field } from "../api";

export function OptionInput({ field, value, onChange }: { field: Field; value: unknown; onChange: (v: unknown) => void }) {
  const id = `option-${field.name}`;
  if (field.kind === "bool") {
    return (
      <label className="switch-row" htmlFor={id}>
        <input id={id} type="checkbox" checked={Boolean(value ?? field.default)} onChange={(e) => onChange(e.target.checked)} />
        {field.label}
        {field.help && <span className="help"> {field.help}</span>}
      </label>
    );
  }
  return (
    <div className="field">
      <label htmlFor={id}>{field.label}</label>
      {field.kind === "choice" ? (
        <select id={id} value={String(value ?? field.default ?? "")} onChange={(e) => onChange(e.target.value)}>
          {field.choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      ) : (
        <input
          id={id}
          type={field.kind === "int" ? "number" : "text"}
          min={field.min ?? undefined}
          max={field.max ?? undefined}
          value={String(value ?? field.default ?? "")}
          onChange={(e) => onChange(field.kind === "int" ? (e.target.value === "" ? null : Number(e.target.value)) : e.target.value)}
        />
      )}
      {field.help && <p className="help">{field.help}</p>}
    </div>
  );
}
