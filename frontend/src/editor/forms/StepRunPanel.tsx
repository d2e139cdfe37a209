/** A step's record from the last run: status, duration, rendered instruction, parameters, output, error. */
import type { Execution, StepRun } from "../api";
import { STATUS_LABELS } from "../context";

interface Props {
  name: string;
  run: StepRun | undefined;
  execution: Execution;
  onClose: () => void;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export function StepRunPanel({ name, run, execution, onClose }: Props) {
  return (
    <aside className="drawer run-panel" aria-label={`Run of ${name}`}>
      <header className="drawer-head">
        <h2>{name}</h2>
        <button type="button" className="link" onClick={onClose} aria-label="Close the run panel">
          ✕
        </button>
      </header>
      <div className="drawer-body">
        {!run ? (
          <p className="muted">
            {execution.status === "queued" || execution.status === "running"
              ? "This step has not finished yet."
              : "This step did not run: an earlier step failed with Ignore Errors off, so the execution stopped."}
          </p>
        ) : (
          <>
            <p>
              <span className={`status-chip status-${run.status}`}>{STATUS_LABELS[run.status] ?? run.status}</span>{" "}
              in {run.duration_ms.toFixed(1)} ms
            </p>
            {run.error && (
              <section>
                <h3>Error</h3>
                <pre className="step-error">{run.error}</pre>
              </section>
            )}
            <section>
              <h3>Instruction as sent</h3>
              <pre>{run.instruction || "—"}</pre>
            </section>
            <section>
              <h3>Parameters</h3>
              <pre>{json(run.params)}</pre>
            </section>
            <section>
              <h3>Output{run.output_truncated ? " (cut: too large)" : ""}</h3>
              <pre>{json(run.output)}</pre>
            </section>
          </>
        )}
        <p>
          <a href={`/executions/${execution.id}/`}>Open execution #{execution.id}</a>
        </p>
      </div>
    </aside>
  );
}
