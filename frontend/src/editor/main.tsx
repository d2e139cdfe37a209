/** Mounts the editor into the flow page (``#flow-editor`` with its settings in ``#flow-editor-config``) and wires the page's buttons. */
import "@xyflow/react/dist/style.css";
import "./editor.css";
import { createRoot } from "react-dom/client";
import { App, type EditorConfig } from "./App";
import { wirePage } from "./page";

const root = document.getElementById("flow-editor");
const settings = document.getElementById("flow-editor-config");
if (root && settings) {
  const config = JSON.parse(settings.textContent || "{}") as EditorConfig;
  createRoot(root).render(<App config={config} />);
}
wirePage();
