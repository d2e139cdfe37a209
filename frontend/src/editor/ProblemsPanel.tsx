/** The problems of the last validation or save: the graph's first, then each step's, a click away from its form. */
import { useReactFlow } from "@xyflow/react";
import { useShallow } from "zustand/react/shallow";
import { Icon } from "./icons";
import { useEditor, useEditorStore } from "./useEditor";

export function ProblemsPanel() {
  const problems = useEditor((s) => s.problems);
  const names = useEditor(useShallow((s) => Object.fromEntries(s.problems.flatMap((p) => (p.step ? [[p.step, s.nameOf(p.step)]] : [])))));
  const hideProblems = useEditor((s) => s.hideProblems);
  const store = useEditorStore();
  const flow = useReactFlow();
  if (problems.length === 0) return null;

  const focusStep = (id: string) => {
    store.getState().focusStep(id);
    const node = store.getState().nodes.find((n) => n.id === id);
    if (node) flow.setCenter(node.position.x + 110, node.position.y + 35, { zoom: Math.max(flow.getZoom(), 1), duration: 200 });
  };

  return (
    <section className="problems-panel" aria-label="Problems">
      <header>
        <strong>
          <Icon name="problem" size={14} /> Problems: {problems.length} in the draft
        </strong>
        <button type="button" className="icon-button" aria-label="Hide the problems" onClick={hideProblems}>
          <Icon name="close" size={14} />
        </button>
      </header>
      <p className="muted small">Click a step’s name to select it and open its settings.</p>
      <ul>
        {problems
          .filter((p) => !p.step)
          .map((p, i) => (
            <li key={`g${i}`}>{p.message}</li>
          ))}
        {problems
          .filter((p) => p.step)
          .map((p, i) => (
            <li key={i}>
              <button type="button" className="link" onClick={() => focusStep(p.step as string)}>
                {names[p.step as string]}
              </button>
              : {p.message}
            </li>
          ))}
      </ul>
    </section>
  );
}
