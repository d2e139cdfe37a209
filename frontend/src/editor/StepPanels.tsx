/**
 * Beside the canvas (never over it): the panel of one step with two tabs, its data (a click on the step)
 * and its settings form (a double-click, or the pencil); or the form of a router's branch (a click on it).
 */
import { useShallow } from "zustand/react/shallow";
import { StepDataPanel } from "./forms/StepDataPanel";
import { EdgeForm } from "./forms/EdgeForm";
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
  const execution = useEditor((s) => s.execution);
  const step = nodes.find((n) => n.id === id)?.data.step;
  if (!step) return null;
  const upstreamIds = upstreamOf(step.id, edges);
  // A body step also sees what the steps before its for-each give.
  if (typeof step.group === "string") for (const above of upstreamOf(step.group, edges)) upstreamIds.add(above);
  const outputs: Record<string, unknown> = {};
  for (const upstreamId of upstreamIds) {
    const upstreamStep = nodes.find((n) => n.id === upstreamId)?.data.step;
    const ran = execution?.steps?.find((r) => r.step_id === upstreamId && !r.scope)?.output;
    const output = upstreamStep?.sample_output ?? ran;
    if (upstreamStep && output !== undefined) outputs[referenceKey(upstreamStep.name)] = output;
  }
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
      outputs={outputs}
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

function EdgePanel({ id }: { id: string }) {
  const { edges, readOnly, nameOf, saveEdge, closePanels } = useEditor(
    useShallow((s) => ({ edges: s.edges, readOnly: s.readOnly, nameOf: s.nameOf, saveEdge: s.saveEdge, closePanels: s.closePanels })),
  );
  const edge = edges.find((e) => e.id === id);
  if (!edge) return null;
  const from = nameOf(edge.source);
  const to = nameOf(edge.target);
  return (
    <aside className="side-panel" aria-label={`Branch ${from} to ${to}`}>
      <header className="side-head">
        <h2>Branch</h2>
        <button type="button" className="icon-button" onClick={closePanels} aria-label="Close the branch form">
          <Icon name="close" />
        </button>
      </header>
      <EdgeForm
        key={id}
        edge={{ ...(edge.data ?? {}), source: edge.source, target: edge.target }}
        from={from}
        to={to}
        readOnly={readOnly}
        onClose={closePanels}
        onSave={(fields) => saveEdge(id, fields)}
      />
    </aside>
  );
}

export function StepPanels({ slug }: { slug: string }) {
  const editingEdge = useEditor((s) => s.editingEdge);
  const editing = useEditor((s) => s.editing);
  const runView = useEditor((s) => s.runView);
  const id = editing ?? runView;
  const name = useEditor((s) => (id ? s.nameOf(id) : ""));
  const { edit, showRun, closePanels } = useEditor(useShallow(({ edit, showRun, closePanels }) => ({ edit, showRun, closePanels })));
  if (editingEdge) return <EdgePanel id={editingEdge} />;
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
