/** Undo and redo, and whether there is anything to undo or redo (the toolbar's arrows). */
import { useShallow } from "zustand/react/shallow";
import { useEditor } from "../useEditor";

export function useHistory() {
  return useEditor(useShallow(({ undo, redo, canUndo, canRedo }) => ({ undo, redo, canUndo, canRedo })));
}
