/** Beside the canvas: the form of the step being edited, or the record of the step picked after a run. */
import { useShallow } from "zustand/react/shallow";
import { StepDrawer } from "./forms/StepDrawer";
import { StepRunPanel } from "./forms/StepRunPanel";
import { referenceKey, upstreamOf } from "./graph";
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
  const step = nodes.find((n) => n.id === id)?.data.step;
  if (!step) return null;
  return (
    <StepDrawer
      key={step.id}
      slug={slug}
      step={step}
      catalog={catalog}
      otherNames={nodes.filter((n) => n.id !== step.id).map((n) => n.data.step.name)}
      upstream={[...upstreamOf(step.id, edges)].map((upstreamId) => {
        const name = nameOf(upstreamId);
        return { id: upstreamId, name, expression: `steps.${referenceKey(name)}` };
      })}
      savedStepIds={savedIds}
      problems={problems ?? []}
      readOnly={readOnly}
      onClose={closePanels}
      onSave={saveStep}
    />
  );
}

function RunRecord({ id }: { id: string }) {
  const execution = useEditor((s) => s.execution);
  const name = useEditor((s) => s.nameOf(id));
  const closePanels = useEditor((s) => s.closePanels);
  if (!execution) return null;
  return <StepRunPanel name={name} run={execution.steps?.find((s) => s.step_id === id)} execution={execution} onClose={closePanels} />;
}

export function StepPanels({ slug }: { slug: string }) {
  const editing = useEditor((s) => s.editing);
  const runView = useEditor((s) => s.runView);
  if (editing) return <EditingDrawer slug={slug} id={editing} />;
  return runView ? <RunRecord id={runView} /> : null;
}
