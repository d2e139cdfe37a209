/** The flow toolbar: save, validate, publish, deploy, run; undo/redo, copy/paste, delete, layout. */
import { useState } from "react";
import { useClipboard } from "./hooks/useClipboard";
import { useHistory } from "./hooks/useHistory";
import { useEditor } from "./useEditor";

export interface ToolbarProps {
  canRun: boolean;
  links: { versions: string; diff: string; executions: string };
  onSave: () => void;
  onValidate: () => void;
  onPublish: (message: string) => void;
  onDeploy: (environment: string) => void;
  onRun: (payload: unknown) => void;
  onLayout: () => void;
}

type Open = "publish" | "deploy" | "run" | null;

export function Toolbar(props: ToolbarProps) {
  const dirty = useEditor((s) => s.revision !== s.savedRevision);
  const busy = useEditor((s) => s.busy);
  const readOnly = useEditor((s) => s.readOnly);
  const environments = useEditor((s) => s.environments);
  const history = useHistory();
  const clipboard = useClipboard();
  const [open, setOpen] = useState<Open>(null);
  const [message, setMessage] = useState("");
  // The environments may arrive after the toolbar first renders: until one is picked, the first one
  // listed is the choice, as the select shows it.
  const [picked, setEnvironment] = useState("");
  const environment = picked || environments[0]?.slug || "";
  const [payload, setPayload] = useState("{}");
  const payloadError = (() => {
    try {
      JSON.parse(payload || "{}");
      return null;
    } catch (error) {
      return `The payload is not JSON: ${(error as Error).message}`;
    }
  })();
  const toggle = (which: Open) => setOpen(open === which ? null : which);
  return (
    <div className="toolbar" role="toolbar" aria-label="Flow">
      {!readOnly && (
        <>
          <button type="button" className="primary" onClick={props.onSave} disabled={busy !== null} title="Save the draft (Ctrl+S)">
            Save draft
          </button>
          <span className={`save-state ${dirty ? "dirty" : ""}`} aria-live="polite">
            {dirty ? "Unsaved changes" : "All changes saved"}
          </span>
          <span className="sep" />
          <button type="button" onClick={history.undo} disabled={!history.canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">
            ↶
          </button>
          <button type="button" onClick={history.redo} disabled={!history.canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">
            ↷
          </button>
          <button type="button" onClick={clipboard.copy} disabled={!clipboard.hasSelection} title="Copy the selected steps (Ctrl+C)">
            Copy
          </button>
          <button type="button" onClick={clipboard.paste} disabled={!clipboard.hasClip} title="Paste (Ctrl+V)">
            Paste
          </button>
          <button type="button" onClick={clipboard.remove} disabled={!clipboard.hasSelection} title="Delete the selection (Delete)">
            Delete
          </button>
          <button type="button" onClick={props.onLayout} title="Arrange the steps in run order">
            Auto-layout
          </button>
          <span className="sep" />
        </>
      )}
      <button type="button" onClick={props.onValidate} disabled={busy !== null}>
        Validate
      </button>
      {!readOnly && (
        <button type="button" onClick={() => toggle("publish")} aria-expanded={open === "publish"}>
          Publish…
        </button>
      )}
      {!readOnly && (
        <button type="button" onClick={() => toggle("deploy")} aria-expanded={open === "deploy"}>
          Deploy…
        </button>
      )}
      {props.canRun && (
        <button type="button" onClick={() => toggle("run")} aria-expanded={open === "run"}>
          Run…
        </button>
      )}
      <a href={props.links.versions}>Versions</a>
      <a href={props.links.executions}>Executions</a>
      {busy && <span className="busy" role="status">{busy}…</span>}

      {open === "publish" && (
        <form
          className="popover"
          aria-label="Publish"
          onSubmit={(e) => {
            e.preventDefault();
            props.onPublish(message);
            setOpen(null);
          }}
        >
          <label htmlFor="publish-message">Version message</label>
          <input id="publish-message" value={message} maxLength={500} placeholder="What changed?" onChange={(e) => setMessage(e.target.value)} />
          <p className="help">Publishing snapshots the saved draft as a new version; unsaved changes are saved first.</p>
          <button type="submit" className="primary">
            Publish version
          </button>
        </form>
      )}
      {open === "deploy" && (
        <form
          className="popover"
          aria-label="Deploy"
          onSubmit={(e) => {
            e.preventDefault();
            props.onDeploy(environment);
            setOpen(null);
          }}
        >
          <label htmlFor="deploy-environment">Environment</label>
          <select id="deploy-environment" value={environment} onChange={(e) => setEnvironment(e.target.value)}>
            {environments.map((env) => (
              <option key={env.slug} value={env.slug}>
                {env.name}
              </option>
            ))}
          </select>
          <p className="help">
            Deploys the latest published version there. <a href={props.links.diff}>Compare versions</a>
          </p>
          <button type="submit" className="primary">
            Deploy latest version
          </button>
        </form>
      )}
      {open === "run" && (
        <form
          className="popover"
          aria-label="Run in sandbox"
          onSubmit={(e) => {
            e.preventDefault();
            if (payloadError) return;
            props.onRun(JSON.parse(payload || "{}"));
            setOpen(null);
          }}
        >
          <label htmlFor="run-payload">Test payload (JSON)</label>
          <textarea id="run-payload" rows={5} value={payload} onChange={(e) => setPayload(e.target.value)} aria-invalid={!!payloadError} />
          {payloadError ? <p className="field-error">{payloadError}</p> : <p className="help">Steps read it as trigger.payload. The draft is saved first.</p>}
          <button type="submit" className="primary" disabled={!!payloadError}>
            Run in sandbox
          </button>
        </form>
      )}
    </div>
  );
}
