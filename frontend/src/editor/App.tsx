/**
 * The canvas editor of one flow: providers at the root (the editor's store, React Flow, drag and drop), then
 * the toolbar, the palette, the canvas and the panels beside it. The state lives in the store (``store.ts``);
 * talking to the server and the keys are hooks (``hooks/``).
 */
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useState } from "react";
import { Canvas } from "./Canvas";
import { DnDProvider } from "./dnd/DnDContext";
import { useDraft } from "./hooks/useDraft";
import { useRelease } from "./hooks/useRelease";
import { useRunPolling } from "./hooks/useRunPolling";
import { useShortcuts } from "./hooks/useShortcuts";
import { Sidebar } from "./Sidebar";
import { StepPanels } from "./StepPanels";
import { createEditorStore } from "./store";
import { Toolbar } from "./Toolbar";
import { EditorStoreContext, useEditor } from "./useEditor";

export interface EditorConfig {
  slug: string;
  name: string;
  canChange: boolean;
  canRun: boolean;
  links: { versions: string; diff: string; executions: string };
}

function Editor({ config }: { config: EditorConfig }) {
  const { slug } = config;
  const loading = useEditor((s) => s.loading);
  const loadError = useEditor((s) => s.loadError);
  const arrange = useEditor((s) => s.arrange);
  const fullScreen = useEditor((s) => s.fullScreen);
  const flow = useReactFlow();
  const { save, saveIfDirty, validate } = useDraft(slug);
  const { publish, deploy } = useRelease(slug, saveIfDirty);
  const run = useRunPolling(slug, saveIfDirty);
  useShortcuts(save);

  if (loadError) return <p className="field-error" role="alert">{loadError}</p>;

  return (
    <div className={`editor-shell${fullScreen ? " fullscreen" : ""}`} data-ready={loading ? "false" : "true"}>
      <Toolbar
        canRun={config.canRun}
        links={config.links}
        onSave={() => void save()}
        onValidate={() => void validate()}
        onPublish={(message) => void publish(message)}
        onDeploy={(environment) => void deploy(environment)}
        onRun={(payload) => void run(payload)}
        onLayout={() => {
          arrange();
          window.requestAnimationFrame(() => flow.fitView({ padding: 0.2, duration: 200 }));
        }}
      />
      <div className="editor-main">
        <Sidebar />
        <Canvas />
        <StepPanels slug={slug} />
      </div>
    </div>
  );
}

export function App({ config }: { config: EditorConfig }) {
  const [store] = useState(() => createEditorStore({ readOnly: !config.canChange }));
  return (
    <EditorStoreContext.Provider value={store}>
      <ReactFlowProvider>
        <DnDProvider>
          <Editor config={config} />
        </DnDProvider>
      </ReactFlowProvider>
    </EditorStoreContext.Provider>
  );
}
