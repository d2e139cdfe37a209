/** Mounts the editor into the flow page: ``#flow-editor`` with its settings in ``#flow-editor-config``. */
import "@xyflow/react/dist/style.css";
import "./editor.css";
import { createRoot } from "react-dom/client";
import { App, type EditorConfig } from "./App";

const root = document.getElementById("flow-editor");
const settings = document.getElementById("flow-editor-config");
if (root && settings) {
  const config = JSON.parse(settings.textContent || "{}") as EditorConfig;
  createRoot(root).render(<App config={config} />);
}
