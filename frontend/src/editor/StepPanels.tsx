/**
 * Beside the canvas (never over it): the panel of one step with two tabs, its data (a click on the step)
 * and its settings form (a double-click, or the pencil).
 */
import { useShallow } from "zustand/react/shallow";
import { StepDataPanel } from "./forms/StepDataPanel";
import { StepDrawer } from "./forms/StepDrawer";
import { referenceKey, upstreamOf } from "./graph";
import { Icon } from "./icons";
import { useEditor } from "./useEditor";

function EditingDrawer({ slug, id }: { slug: string; id: string }) {
  const { nodes, edges, catalog, savedIds, problems, readOnly, nameOf, saveStep, closePanels } = useEditor(
    useShallow((s) => ({
      nodes: s.nodes,
      edges: s.edges,
      catalog: s.catalog,
      savedIds: s.savedIds,
      problems: s.problemsByStep[id],
      readOnly: s.readOnly,
      nameOf: s.nameOf,
      saveStep: s.saveStep,
      closePanels: s.closePanels,
    })),
  );
  const sample = useEditor((s) => s.sample);
  const step = nodes.find((n) => n.id === id)?.data.step;
  if (!step) return null;
  const upstreamIds = upstreamOf(step.id, edges);
  return (
    <StepDrawer
      key={step.id}
      slug={slug}
      step={step}
      catalog={catalog}
      otherNames={nodes.filter((n) => n.id !== step.id).map((n) => n.data.step.name)}
      upstream={[...upstreamIds].map((upstreamId) => {
        const name = nameOf(upstreamId);
        const sampleOutput = nodes.find((n) => n.id === upstreamId)?.data.step.sample_output;
        return { id: upstreamId, name, expression: `steps.${referenceKey(name)}`, sampleOutput };
      })}
      sample={sample}
      savedStepIds={savedIds}
      problems={problems ?? []}
      readOnly={readOnly}
      onClose={closePanels}
      onSave={saveStep}
    />
  );
}

function DataPanel({ id }: { id: string }) {
  const { execution, edges, nameOf, readOnly, pinOutput, say } = useEditor(
    useShallow((s) => ({ execution: s.execution, edges: s.edges, nameOf: s.nameOf, readOnly: s.readOnly, pinOutput: s.pinOutput, say: s.say })),
  );
  const step = useEditor((s) => s.nodes.find((n) => n.id === id)?.data.step);
  if (!step) return null;
  return <StepDataPanel step={step} execution={execution} edges={edges} nameOf={nameOf} readOnly={readOnly} onPin={(v) => pinOutput(id, v)} onSay={say} />;
}

export function StepPanels({ slug }: { slug: string }) {
  const editing = useEditor((s) => s.editing);
  const runView = useEditor((s) => s.runView);
  const id = editing ?? runView;
  const name = useEditor((s) => (id ? s.nameOf(id) : ""));
  const { edit, showRun, closePanels } = useEditor(useShallow(({ edit, showRun, closePanels }) => ({ edit, showRun, closePanels })));
  if (!id) return null;
  return (
    <aside className="side-panel" aria-label={`Step ${name}`}>
      <header className="side-head">
        <h2 title={name}>{name}</h2>
        <div role="tablist" aria-label="Step panel">
          <button type="button" role="tab" aria-selected={!editing} onClick={() => showRun(id)}>
            <Icon name="data" size={14} /> Data
          </button>
          <button type="button" role="tab" aria-selected={!!editing} onClick={() => edit(id)}>
            <Icon name="edit" size={14} /> Settings
          </button>
        </div>
        <button type="button" className="icon-button" onClick={closePanels} aria-label="Close the step panel">
          <Icon name="close" />
        </button>
      </header>
      {editing ? <EditingDrawer slug={slug} id={editing} /> : <DataPanel id={id} />}
    </aside>
  );
}
