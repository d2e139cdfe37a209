/**
 * The form of a router's edge (a branch), beside the canvas: its condition or "otherwise", its order among
 * the router's branches, its label. Save puts them on the edge; "Save draft" then stores the graph.
 */
import { useState } from "react";
import type { GraphEdge } from "../graph";

interface Props {
  edge: GraphEdge;
  from: string;
  to: string;
  readOnly: boolean;
  onSave: (fields: Record<string, unknown>) => void;
  onClose: () => void;
}

export function EdgeForm({ edge, from, to, readOnly, onSave, onClose }: Props) {
  const [otherwise, setOtherwise] = useState(!!edge.otherwise);
  const [condition, setCondition] = useState(typeof edge.condition === "string" ? edge.condition : "");
  const [order, setOrder] = useState(typeof edge.order === "number" ? String(edge.order) : "");
  const [label, setLabel] = useState(typeof edge.label === "string" ? edge.label : "");
  const orderError = order.trim() && !/^\d+$/.test(order.trim()) ? "The order is a whole number (1 is tried first), or empty." : null;
  const conditionError = !otherwise && !condition.trim() ? "Give a condition, such as {{ trigger.payload.total > 1000 }}, or make it the otherwise branch." : null;

  const save = () => {
    if (orderError || conditionError) return;
    onSave({
      otherwise: otherwise || undefined,
      condition: otherwise ? undefined : condition.trim(),
      order: order.trim() ? Number(order) : undefined,
      label: label.trim() || undefined,
    });
  };

  return (
    <div className="drawer" role="form" aria-label={`Branch from ${from} to ${to}`} onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <p className="drawer-kind muted small">
        Branch of {from} to {to}
      </p>
      <div className="drawer-body">
        <div className="field">
          <label className="switch-row" htmlFor="edge-otherwise">
            <input id="edge-otherwise" type="checkbox" checked={otherwise} disabled={readOnly} onChange={(e) => setOtherwise(e.target.checked)} />
            Otherwise (taken when no other branch is)
          </label>
        </div>
        {!otherwise && (
          <div className="field">
            <label htmlFor="edge-condition">Condition</label>
            <textarea
              id="edge-condition"
              className="code-input plain"
              rows={3}
              placeholder="{{ trigger.payload.total > 1000 }}"
              value={condition}
              readOnly={readOnly}
              aria-invalid={!!conditionError}
              onChange={(e) => setCondition(e.target.value)}
            />
            <p className={conditionError ? "field-error" : "help"}>{conditionError ?? "A {{ }} expression or JSONata; the branch is taken when it is true."}</p>
          </div>
        )}
        <div className="field">
          <label htmlFor="edge-order">Order</label>
          <input id="edge-order" inputMode="numeric" value={order} readOnly={readOnly} aria-invalid={!!orderError} onChange={(e) => setOrder(e.target.value)} />
          <p className={orderError ? "field-error" : "help"}>{orderError ?? "Branches are tried by this number, lowest first (then as drawn)."}</p>
        </div>
        <div className="field">
          <label htmlFor="edge-label">Label</label>
          <input id="edge-label" value={label} placeholder="Over the limit" readOnly={readOnly} onChange={(e) => setLabel(e.target.value)} />
          <p className="help">Shown on the canvas and in the run log instead of the condition.</p>
        </div>
      </div>
      <footer className="drawer-foot">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        {!readOnly && (
          <button type="button" className="primary" disabled={!!(orderError || conditionError)} onClick={save}>
            Save
          </button>
        )}
      </footer>
    </div>
  );
}
