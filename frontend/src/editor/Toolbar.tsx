/**
 * The flow toolbar, one line at 1280 pixels, in three groups: edit (save, undo, redo, copy, paste, delete,
 * layout), release (validate, publish, deploy) and run (sample data, run in the sandbox); then the advanced
 * forms, the keyboard help and the full-screen switch. Rare choices open in a popover under their button.
 */
import { useState, type ReactNode } from "react";
import { useClipboard } from "./hooks/useClipboard";
import { useHistory } from "./hooks/useHistory";
import { Icon, type ToolIconName } from "./icons";
import { HelpPopover } from "./HelpPopover";
import { SamplePopover } from "./SamplePopover";
import { useEditor } from "./useEditor";

export interface ToolbarProps {
  canRun: boolean;
  links: { versions: string; diff: string; executions: string };
  onSave: () => void;
  onValidate: () => void;
  onPublish: (message: string) => void;
  onDeploy: (environment: string) => void;
  /** ``undefined``: no payload given, the server runs with the draft's sample. */
  onRun: (payload: unknown) => void;
  onLayout: () => void;
}

type Open = "publish" | "deploy" | "run" | "sample" | null;

function ToolButton({ icon, label, keys, onClick, disabled }: { icon: ToolIconName; label: string; keys?: string; onClick: () => void; disabled?: boolean }) {
  return (
    <button type="button" className="icon-button" onClick={onClick} disabled={disabled} title={keys ? `${label} (${keys})` : label} aria-label={label}>
      <Icon name={icon} />
    </button>
  );
}

function Group({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="tool-group" role="group" aria-label={label}>
      {children}
    </div>
  );
}

/** The "Advanced" dialog of the flow page (raw JSON forms), when the page has one. */
function advancedDialog(): HTMLDialogElement | null {
  return document.getElementById("flow-advanced") as HTMLDialogElement | null;
}

export function Toolbar(props: ToolbarProps) {
  const dirty = useEditor((s) => s.revision !== s.savedRevision);
  const busy = useEditor((s) => s.busy);
  const readOnly = useEditor((s) => s.readOnly);
  const environments = useEditor((s) => s.environments);
  const sample = useEditor((s) => s.sample);
  const fullScreen = useEditor((s) => s.fullScreen);
  const toggleFullScreen = useEditor((s) => s.toggleFullScreen);
  const helpOpen = useEditor((s) => s.helpOpen);
  const toggleHelp = useEditor((s) => s.toggleHelp);
  const history = useHistory();
  const clipboard = useClipboard();
  const [open, setOpen] = useState<Open>(null);
  const [message, setMessage] = useState("");
  // The environments may arrive after the toolbar first renders: until one is picked, the first one
  // listed is the choice, as the select shows it.
  const [picked, setEnvironment] = useState("");
  const environment = picked || environments[0]?.slug || "";
  const [payload, setPayload] = useState("");
  const payloadError = (() => {
    try {
      if (payload.trim()) JSON.parse(payload);
      return null;
    } catch (error) {
      return `The payload is not JSON: ${(error as Error).message}`;
    }
  })();
  const toggle = (which: Open) => setOpen(open === which ? null : which);
  return (
    <div className="toolbar" role="toolbar" aria-label="Flow">
      {!readOnly && (
        <Group label="Edit">
          <button type="button" className="primary" onClick={props.onSave} disabled={busy !== null} title="Save the draft (Ctrl+S)">
            Save draft
          </button>
          <span className={`save-state ${dirty ? "dirty" : ""}`} aria-live="polite">
            {dirty ? "Unsaved changes" : "All changes saved"}
          </span>
          <ToolButton icon="undo" label="Undo" keys="Ctrl+Z" onClick={history.undo} disabled={!history.canUndo} />
          <ToolButton icon="redo" label="Redo" keys="Ctrl+Shift+Z" onClick={history.redo} disabled={!history.canRedo} />
          <ToolButton icon="copy" label="Copy the selected steps" keys="Ctrl+C" onClick={clipboard.copy} disabled={!clipboard.hasSelection} />
          <ToolButton icon="paste" label="Paste" keys="Ctrl+V" onClick={clipboard.paste} disabled={!clipboard.hasClip} />
          <ToolButton icon="trash" label="Delete the selection" keys="Delete" onClick={clipboard.remove} disabled={!clipboard.hasSelection} />
          <ToolButton icon="layout" label="Arrange the steps in run order" onClick={props.onLayout} />
        </Group>
      )}
      <Group label="Release">
        <button type="button" onClick={props.onValidate} disabled={busy !== null}>
          <Icon name="check" /> Validate
        </button>
        {!readOnly && (
          <button type="button" onClick={() => toggle("publish")} aria-expanded={open === "publish"}>
            <Icon name="publish" /> Publish…
          </button>
        )}
        {!readOnly && (
          <button type="button" onClick={() => toggle("deploy")} aria-expanded={open === "deploy"}>
            <Icon name="deploy" /> Deploy…
          </button>
        )}
      </Group>
      {props.canRun && (
        <Group label="Run">
          <button
            type="button"
            className={sample ? "has-sample" : undefined}
            onClick={() => toggle("sample")}
            aria-expanded={open === "sample"}
            title={sample ? "A sample payload is set: its fields show in the properties" : "Set a sample trigger payload: its fields show in the properties before any run"}
          >
            <Icon name="sample" /> Sample…
          </button>
          <button type="button" onClick={() => toggle("run")} aria-expanded={open === "run"}>
            <Icon name="play" /> Run…
          </button>
        </Group>
      )}
      <span className="toolbar-fill" />
      {busy && (
        <span className="busy" role="status">
          {busy}…
        </span>
      )}
      {advancedDialog() && (
        <button type="button" onClick={() => advancedDialog()?.showModal()} title="The draft, publish and run forms as JSON">
          <Icon name="settings" /> Advanced
        </button>
      )}
      <ToolButton icon="help" label="Keyboard shortcuts" keys="?" onClick={() => toggleHelp()} />
      <ToolButton icon={fullScreen ? "collapse" : "expand"} label={fullScreen ? "Leave full screen" : "Full screen"} keys="F" onClick={toggleFullScreen} />

      {helpOpen && <HelpPopover onClose={() => toggleHelp(false)} />}
      {open === "sample" && <SamplePopover onClose={() => setOpen(null)} />}
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
            props.onRun(payload.trim() ? JSON.parse(payload) : undefined);
            setOpen(null);
          }}
        >
          <label htmlFor="run-payload">Test payload (JSON)</label>
          <textarea
            id="run-payload"
            rows={5}
            value={payload}
            placeholder={sample ? "Empty: the run uses the sample payload" : "{}"}
            onChange={(e) => setPayload(e.target.value)}
            aria-invalid={!!payloadError}
          />
          {payloadError ? (
            <p className="field-error">{payloadError}</p>
          ) : (
            <p className="help">
              Steps read it as trigger.payload. {sample ? "Left empty, the run uses the sample payload." : "Left empty, the payload is {}."} The draft is saved first.
            </p>
          )}
          <button type="submit" className="primary" disabled={!!payloadError}>
            Run in sandbox
          </button>
        </form>
      )}
    </div>
  );
}
