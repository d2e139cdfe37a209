/** Copy, paste and delete of the selected steps (with their settings), and whether there is a selection or a clip. */
import { useShallow } from "zustand/react/shallow";
import { useEditor } from "../useEditor";

export function useClipboard() {
  return useEditor(
    useShallow((s) => ({
      copy: s.copySelection,
      paste: s.paste,
      remove: s.deleteSelection,
      hasClip: s.clip !== null,
      hasSelection: s.nodes.some((n) => n.selected) || s.edges.some((e) => e.selected),
    })),
  );
}
