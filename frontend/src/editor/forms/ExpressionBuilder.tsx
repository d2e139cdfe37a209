/** The "fx" builder: join properties and text with concat(), then insert the expression at the cursor. */
import { useState } from "react";
import { concatExpression } from "../highlight";

interface Part {
  kind: "property" | "text";
  value: string;
}

interface Props {
  expressions: string[];
  onInsert: (text: string) => void;
  onClose: () => void;
}

export function ExpressionBuilder({ expressions, onInsert, onClose }: Props) {
  const [parts, setParts] = useState<Part[]>([
    { kind: "property", value: expressions[0] ?? "" },
    { kind: "text", value: " " },
  ]);
  const update = (index: number, change: Partial<Part>) =>
    setParts(parts.map((part, i) => (i === index ? { ...part, ...change } : part)));
  const preview = concatExpression(parts);
  return (
    <div className="fx-builder" role="dialog" aria-label="Expression builder">
      <h4>Concat</h4>
      <p className="muted small">Joins the parts below into one text, in order.</p>
      <datalist id="fx-expressions">
        {expressions.map((e) => (
          <option key={e} value={e} />
        ))}
      </datalist>
      {parts.map((part, index) => (
        <div className="fx-part" key={index}>
          <select
            aria-label={`Part ${index + 1} kind`}
            value={part.kind}
            onChange={(e) => update(index, { kind: e.target.value as Part["kind"] })}
          >
            <option value="property">property</option>
            <option value="text">text</option>
          </select>
          <input
            aria-label={`Part ${index + 1}`}
            list={part.kind === "property" ? "fx-expressions" : undefined}
            value={part.value}
            onChange={(e) => update(index, { value: e.target.value })}
          />
          <button type="button" aria-label={`Remove part ${index + 1}`} onClick={() => setParts(parts.filter((_, i) => i !== index))}>
            ×
          </button>
        </div>
      ))}
      <button type="button" className="link" onClick={() => setParts([...parts, { kind: "property", value: "" }])}>
        + add a part
      </button>
      <pre className="fx-preview">{preview}</pre>
      <div className="form-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button type="button" className="primary" onClick={() => onInsert(preview)}>
          Insert
        </button>
      </div>
    </div>
  );
}
