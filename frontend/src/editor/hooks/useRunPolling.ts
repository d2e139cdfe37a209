/**
 * A test run in the sandbox: saves unsaved changes, starts the run, then polls the execution every
 * ``POLL_MS`` until it is over, handing each answer to ``applyRunStatus`` so the steps show it live.
 * A parked execution (``waiting``, a long delay) changes nothing until it is due, so it is asked only
 * every ``WAITING_POLL_MS``.
 */
import { useCallback, useEffect, useRef } from "react";
import { api } from "../api";
import { FINAL_EXECUTION_STATUSES } from "../graph";
import { useEditorStore } from "../useEditor";

export const POLL_MS = 400;
export const WAITING_POLL_MS = 2000;

/** How long to wait before asking again about an execution in ``status``. */
export function pollDelay(status: string): number {
  return status === "waiting" ? WAITING_POLL_MS : POLL_MS;
}

export function useRunPolling(slug: string, saveIfDirty: () => Promise<boolean>) {
  const store = useEditorStore();
  const poll = useRef<number | null>(null);
  useEffect(() => () => void (poll.current && window.clearTimeout(poll.current)), []);

  return useCallback(
    async (payload: unknown) => {
      if (!(await saveIfDirty())) return;
      store.getState().setBusy("Starting the run");
      try {
        const started = await api.run(slug, payload);
        store.getState().runStarted(started);
        const follow = async () => {
          try {
            const now = await api.execution(started.id);
            store.getState().applyRunStatus(now);
            if (!FINAL_EXECUTION_STATUSES.has(now.status)) poll.current = window.setTimeout(follow, pollDelay(now.status));
            else
              store
                .getState()
                .say(now.status === "succeeded" ? "ok" : "error", `Execution #${now.id} ended: ${now.status.replace(/_/g, " ")}${now.error ? ` (${now.error})` : ""}.`);
          } catch (error) {
            store.getState().say("error", `Stopped watching the run: ${(error as Error).message}`);
          }
        };
        poll.current = window.setTimeout(follow, POLL_MS);
      } catch (error) {
        store.getState().reportFailure(error, "The run did not start");
      } finally {
        store.getState().setBusy(null);
      }
    },
    [saveIfDirty, slug, store],
  );
}
