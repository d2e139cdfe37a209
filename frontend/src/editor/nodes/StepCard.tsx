/** The body every step kind shares: handles, icon, name, what it calls, badges, run status, problems, buttons. */
import { Handle, Position } from "@xyflow/react";
import type { ReactNode } from "react";
import { useShallow } from "zustand/react/shallow";
import type { Problem } from "../api";
import { STATUS_LABELS } from "../context";
import type { Step } from "../graph";
import { Icon } from "../icons";
import { useEditor } from "../useEditor";

export interface StepCardProps {
  step: Step;
  selected: boolean;
  icon: ReactNode;
  subtitle: string;
  /** A badge of its kind (a for-each's progress). */
  extra?: ReactNode;
}

const NO_PROBLEMS: Problem[] = [];

/** Selects its own run status and problems by id: a status poll re-renders only the steps whose status changed. */
export function StepCard({ step, selected, icon, subtitle, extra }: StepCardProps) {
  const status = useEditor((s) => s.statuses[step.id]);
  const found = useEditor((s) => s.problemsByStep[step.id] ?? NO_PROBLEMS);
  const readOnly = useEditor((s) => s.readOnly);
  const { edit, duplicate, removeStep, showRun } = useEditor(
    useShallow(({ edit, duplicate, removeStep, showRun }) => ({ edit, duplicate, removeStep, showRun })),
  );
  const pinned = step.sample_output !== undefined;
  const retries = (step.retry as { max_attempts?: number } | undefined)?.max_attempts;
  const classes = ["step-node", selected ? "selected" : "", status ? `run-${status.status}` : "", found.length ? "has-problems" : ""];
  return (
    <div
      className={classes.join(" ")}
      data-step={step.id}
      data-status={status?.status ?? ""}
      title={found.map((p) => p.message).join("\n") || status?.reason || undefined}
    >
      <Handle type="target" position={Position.Top} aria-label={`Input of ${step.name}`} />
      <div className="step-main">
        {icon}
        <div className="step-text">
          <div className="step-name">{step.name}</div>
          <div className="step-sub">{subtitle}</div>
        </div>
      </div>
      <div className="step-badges">
        {typeof step.timeout_ms === "number" && <span className="badge">{step.timeout_ms} ms</span>}
        {step.ignore_errors && <span className="badge warn">ignore errors</span>}
        {pinned && <span className="badge">sample output</span>}
        {retries && retries > 1 && <span className="badge">{retries} attempts</span>}
        {extra}
        {found.length > 0 && <span className="badge error">{found.length} problem{found.length > 1 ? "s" : ""}</span>}
        {status && (
          <button type="button" className={`status-chip nodrag status-${status.status}`} onClick={(e) => (e.stopPropagation(), showRun(step.id))}>
            {STATUS_LABELS[status.status] ?? status.status}
            {status.attempt && status.attempt > 1 && ` · attempt ${status.attempt}`}
            {status.items !== undefined && ` · ${status.items} item${status.items === 1 ? "" : "s"}${status.failedItems ? `, ${status.failedItems} failed` : ""}`}
            {status.duration_ms !== undefined && ` · ${status.duration_ms < 10 ? status.duration_ms.toFixed(1) : Math.round(status.duration_ms)} ms`}
          </button>
        )}
      </div>
      {status?.reason && <p className="skip-reason">{status.reason}</p>}
      {!readOnly && (
        <div className="step-tools nodrag">
          <button type="button" title="Edit the step" aria-label={`Edit ${step.name}`} onClick={(e) => (e.stopPropagation(), edit(step.id))}>
            <Icon name="edit" size={14} />
          </button>
          <button type="button" title="Copy the step with its settings" aria-label={`Copy ${step.name}`} onClick={(e) => (e.stopPropagation(), duplicate(step.id))}>
            <Icon name="duplicate" size={14} />
          </button>
          <button type="button" title="Remove the step" aria-label={`Remove ${step.name}`} onClick={(e) => (e.stopPropagation(), removeStep(step.id))}>
            <Icon name="trash" size={14} />
          </button>
        </div>
      )}
      <Handle type="source" position={Position.Bottom} aria-label={`Output of ${step.name}`} />
    </div>
  );
}
