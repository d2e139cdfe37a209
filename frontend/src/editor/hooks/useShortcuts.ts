/**
 * The editor's keys, as ``shortcuts.ts`` lists them for the help: Ctrl+S saves (even while typing); outside
 * a field, Escape closes the help or the step panel, Delete removes the selection, Ctrl+C / Ctrl+V copy and
 * paste, Ctrl+D duplicates, Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo, F switches full screen and ?
 * shows the help.
 */
import { useEffect } from "react";
import { useEditorStore } from "../useEditor";

function typingInField(target: EventTarget | null): boolean {
  const element = target as HTMLElement | null;
  return !!element && (/^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName) || element.isContentEditable);
}

export function useShortcuts(save: () => Promise<boolean>) {
  const store = useEditorStore();
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      if (mod && key === "s") {
        event.preventDefault();
        void save();
        return;
      }
      if (typingInField(event.target)) return;
      const editor = store.getState();
      if (event.key === "Escape") {
        if (editor.helpOpen) editor.toggleHelp(false);
        else if (editor.fullScreen && !editor.editing && !editor.runView) editor.toggleFullScreen();
        else editor.closePanels();
      } else if (event.key === "?" && !mod) editor.toggleHelp();
      else if (key === "f" && !mod && !event.altKey) editor.toggleFullScreen();
      else if ((event.key === "Delete" || event.key === "Backspace") && !mod) {
        event.preventDefault();
        editor.deleteSelection();
      } else if (mod && key === "c") editor.copySelection();
      else if (mod && key === "v") editor.paste();
      else if (mod && key === "d") {
        event.preventDefault();
        editor.duplicateSelection();
      } else if (mod && ((key === "z" && event.shiftKey) || key === "y")) {
        event.preventDefault();
        editor.redo();
      } else if (mod && key === "z") {
        event.preventDefault();
        editor.undo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [save, store]);
}
