/** The editor's store for the components under ``App``: ``useEditor(selector)`` re-renders on that slice only. */
import { createContext, useContext } from "react";
import { useStore } from "zustand";
import type { EditorState, EditorStore } from "./store";

export const EditorStoreContext = createContext<EditorStore | null>(null);

/** The store itself, for hooks that act on it outside rendering (``getState()`` in event handlers and effects). */
export function useEditorStore(): EditorStore {
  const store = useContext(EditorStoreContext);
  if (!store) throw new Error("useEditor outside the editor");
  return store;
}

export function useEditor<T>(selector: (state: EditorState) => T): T {
  return useStore(useEditorStore(), selector);
}
