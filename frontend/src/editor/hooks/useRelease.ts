/** Publishing the saved draft as a version (unsaved changes are saved first) and deploying the latest version. */
import { useCallback } from "react";
import { api } from "../api";
import { useEditorStore } from "../useEditor";

export function useRelease(slug: string, saveIfDirty: () => Promise<boolean>) {
  const store = useEditorStore();

  const publish = useCallback(
    async (message: string) => {
      if (!(await saveIfDirty())) return;
      store.getState().setBusy("Publishing");
      try {
        const version = await api.publish(slug, message);
        store.getState().say("ok", `Published version ${version.number}. Deploy it to run it outside test runs.`);
      } catch (error) {
        store.getState().reportFailure(error, "Not published");
      } finally {
        store.getState().setBusy(null);
      }
    },
    [saveIfDirty, slug, store],
  );

  const deploy = useCallback(
    async (environment: string) => {
      store.getState().setBusy("Deploying");
      try {
        const deployment = await api.deploy(slug, environment);
        store.getState().say("ok", `Version ${deployment.version} now runs in ${environment}.`);
      } catch (error) {
        store.getState().reportFailure(error, "Not deployed");
      } finally {
        store.getState().setBusy(null);
      }
    },
    [slug, store],
  );

  return { publish, deploy };
}
