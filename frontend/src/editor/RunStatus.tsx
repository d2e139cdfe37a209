/**
 * The box at the canvas's top left while and after a sandbox run: which execution, how far, each for-each's
 * progress over its items, a link to it. Clear of the minimap.
 */
import { STATUS_LABELS } from "./context";
import { Icon } from "./icons";
import { progressText } from "./nodes/ForEachNode";
import { useEditor } from "./useEditor";

export function RunStatus() {
  const execution = useEditor((s) => s.execution);
  const statuses = useEditor((s) => s.statuses);
  const clear = useEditor((s) => s.clearRun);
  if (!execution) return null;
  const all = Object.values(statuses);
  const done = all.filter((s) => !["queued", "running", "waiting", "retrying", "skipped"].includes(s.status)).length;
  return (
    <section className={`run-status run-status-${execution.status}`} aria-label="Run status">
      <strong>Execution #{execution.id}</strong>{" "}
      <span className={`status-chip status-${execution.status}`}>{STATUS_LABELS[execution.status] ?? execution.status.replace(/_/g, " ")}</span>
      <span className="muted small">
        {" "}
        {done} of {all.length} step{all.length === 1 ? "" : "s"} done
      </span>{" "}
      <a href={`/executions/${execution.id}/`}>Open</a>
      <button type="button" className="icon-button" aria-label="Hide the run status" onClick={clear}>
        <Icon name="close" size={14} />
      </button>
      {(execution.loops ?? []).map((loop) => (
        <span key={loop.step_id} className="loop-line small" data-loop={loop.step_id}>
          {loop.name}: <strong>{progressText(loop)}</strong>
        </span>
      ))}
    </section>
  );
}
