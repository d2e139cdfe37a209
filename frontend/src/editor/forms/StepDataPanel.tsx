/**
 * A step's data, as n8n shows a node's: its last run in this editor (status, attempts, the input it could
 * read, the instruction as sent, parameters, output, error) and its pinned sample output, which later
 * steps' properties list before any run. "Pin this output" keeps the run's output as the sample.
 */
import type { Execution, StepRun } from "../api";
import { STATUS_LABELS } from "../context";
import { referenceKey, upstreamOf, type GraphEdge, type Step } from "../graph";
import { Icon } from "../icons";
import { sizeProblem } from "../samples";

interface Props {
  step: Step;
  execution: Execution | null;
  edges: GraphEdge[];
  nameOf: (id: string) => string;
  readOnly: boolean;
  onPin: (output: unknown) => void;
  onSay: (kind: "ok" | "error", text: string) => void;
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** What the step could read when it ran: the trigger payload and the outputs of the steps before it in that run. */
function inputOf(step: Step, execution: Execution, edges: GraphEdge[], nameOf: (id: string) => string) {
  const steps: Record<string, unknown> = {};
  for (const id of upstreamOf(step.id, edges)) {
    const runs = (execution.steps ?? []).filter((r) => r.step_id === id);
    if (runs.length) steps[referenceKey(nameOf(id))] = runs[runs.length - 1].output;
  }
  return { trigger: { payload: execution.input?.payload }, steps };
}

function Attempts({ runs }: { runs: StepRun[] }) {
  if (runs.length < 2) return null;
  return (
    <section>
      <h3>Attempts</h3>
      <ol className="attempts">
        {runs.map((r, i) => (
          <li key={i}>
            <span className={`status-chip status-${r.status}`}>{STATUS_LABELS[r.status] ?? r.status}</span> {r.duration_ms.toFixed(1)} ms
            {r.error && <span className="step-error"> {r.error}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

export function StepDataPanel({ step, execution, edges, nameOf, readOnly, onPin, onSay }: Props) {
  const runs = (execution?.steps ?? []).filter((r) => r.step_id === step.id);
  const run = runs[runs.length - 1];
  const pinned = step.sample_output;
  const pin = (value: unknown) => {
    const size = sizeProblem(JSON.stringify(value).length, "output");
    if (size) return onSay("error", `Not pinned: ${size}`);
    onPin(value);
    onSay("ok", `Pinned the output of ${step.name} as its sample: later steps list its fields. Save the draft to keep it.`);
  };
  return (
    <div className="drawer-body run-panel" aria-label={`Run of ${step.name}`} role="region">
      {!execution ? (
        <p className="muted">Not run in this editor yet. Run the flow in the sandbox (Run…) to see what this step receives and returns.</p>
      ) : !run ? (
        <p className="muted">
          {execution.status === "queued" || execution.status === "running"
            ? "This step has not finished yet."
            : "This step did not run: an earlier step failed with Ignore Errors off, so the execution stopped."}
        </p>
      ) : (
        <>
          <p>
            <span className={`status-chip status-${run.status}`}>{STATUS_LABELS[run.status] ?? run.status}</span> in {run.duration_ms.toFixed(1)} ms
            {runs.length > 1 && `, attempt ${run.attempt ?? runs.length} of ${runs.length}`} ·{" "}
            <a href={`/executions/${execution.id}/`}>execution #{execution.id}</a>
          </p>
          {run.error && (
            <section>
              <h3>Error</h3>
              <pre className="step-error">{run.error}</pre>
            </section>
          )}
          <Attempts runs={runs} />
          <section>
            <h3>Input properties</h3>
            <pre>{json(inputOf(step, execution, edges, nameOf))}</pre>
          </section>
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
            {!readOnly && run.status === "succeeded" && !run.output_truncated && (
              <button type="button" onClick={() => pin(run.output)}>
                <Icon name="pin" size={14} /> Pin this output as the sample
              </button>
            )}
          </section>
        </>
      )}
      <section>
        <h3>Sample output</h3>
        {pinned === undefined ? (
          <p className="muted small">None pinned. A pinned output lets later steps pick its fields before this step has run.</p>
        ) : (
          <>
            <pre>{json(pinned)}</pre>
            {!readOnly && (
              <button type="button" onClick={() => (onPin(undefined), onSay("ok", `Unpinned the sample output of ${step.name}.`))}>
                Unpin
              </button>
            )}
          </>
        )}
      </section>
    </div>
  );
}
