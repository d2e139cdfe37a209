/**
 * The flow's draft on the server: loaded with the catalog when the editor opens, saved (Save draft, Ctrl+S,
 * and before publishing or running), validated without saving; leaving the page with unsaved changes warns.
 */
import { useCallback, useEffect } from "react";
import { api } from "../api";
import { PROBLEMS_PLACE } from "../store";
import { useEditor, useEditorStore } from "../useEditor";

export function useDraft(slug: string) {
  const store = useEditorStore();
  const dirty = useEditor((s) => s.revision !== s.savedRevision);

  useEffect(() => {
    Promise.all([api.draft(slug), api.connectorTypes(), api.connectors(), api.environments()])
      .then(([draft, types, connectors, environments]) => {
        const catalog = { types: new Map(types.map((t) => [t.key, t])), connectors, connectorById: new Map(connectors.map((c) => [c.id, c])) };
        store.getState().loaded(draft.graph, catalog, environments);
      })
      .catch((error: Error) => store.getState().loadFailed(`The editor could not load this flow: ${error.message}`));
  }, [slug, store]);

  useEffect(() => {
    if (!dirty) return;
    const warn = (event: BeforeUnloadEvent) => {
      event.preventDefault();
      event.returnValue = "";
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  /** Store the graph as the draft; true when it was stored (or there is nothing the user may store). */
  const save = useCallback(async (): Promise<boolean> => {
    const state = store.getState();
    if (state.readOnly) return true;
    const atRevision = state.revision;
    const graph = state.graph();
    state.setBusy("Saving");
    try {
      await api.saveDraft(slug, graph);
      store.getState().draftSaved(atRevision, graph);
      return true;
    } catch (error) {
      store.getState().reportFailure(error, "Nothing was saved");
      return false;
    } finally {
      store.getState().setBusy(null);
    }
  }, [slug, store]);

  /** Save first when there are unsaved changes; false when that failed. */
  const saveIfDirty = useCallback(async (): Promise<boolean> => {
    const { revision, savedRevision } = store.getState();
    return revision === savedRevision || (await save());
  }, [save, store]);

  const validate = useCallback(async () => {
    const state = store.getState();
    state.setBusy("Validating");
    try {
      const answer = await api.validate(slug, state.graph());
      store.getState().showProblems(answer.problems);
      store
        .getState()
        .say(answer.valid ? "ok" : "error", answer.valid ? "No problems: the draft can be published." : `${answer.problems.length} problem${answer.problems.length === 1 ? "" : "s"} to fix, ${PROBLEMS_PLACE}.`);
    } catch (error) {
      store.getState().reportFailure(error, "Could not validate");
    } finally {
      store.getState().setBusy(null);
    }
  }, [slug, store]);

  return { save, saveIfDirty, validate };
}
