/**
 * Feedback where the eye is: the toasts under the toolbar (results of save, validate, publish, deploy and
 * run; a success fades after 5 seconds, an error stays until closed) and, at the bottom of the canvas, the
 * hint why a connection was refused.
 */
import { useEffect } from "react";
import { Icon } from "./icons";
import type { Toast } from "./store";
import { useEditor } from "./useEditor";

function ToastItem({ toast, onClose }: { toast: Toast; onClose: (id: number) => void }) {
  useEffect(() => {
    if (toast.kind === "error") return;
    const timer = window.setTimeout(() => onClose(toast.id), 5000);
    return () => window.clearTimeout(timer);
  }, [toast, onClose]);
  return (
    <li className={`toast toast-${toast.kind}`} role={toast.kind === "error" ? "alert" : "status"}>
      <span>{toast.text}</span>
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => onClose(toast.id)}>
        <Icon name="close" size={14} />
      </button>
    </li>
  );
}

export function Toasts() {
  const toasts = useEditor((s) => s.toasts);
  const dismiss = useEditor((s) => s.dismissToast);
  if (!toasts.length) return null;
  return (
    <ol className="toasts" aria-label="Notifications">
      {toasts.map((toast) => (
        <ToastItem key={toast.id} toast={toast} onClose={dismiss} />
      ))}
    </ol>
  );
}

export function Hint() {
  const hint = useEditor((s) => s.hint);
  const dismissHint = useEditor((s) => s.dismissHint);
  useEffect(() => {
    if (!hint) return;
    const timer = window.setTimeout(dismissHint, 5000);
    return () => window.clearTimeout(timer);
  }, [hint, dismissHint]);
  return hint ? (
    <p className="hint" role="alert">
      {hint}
    </p>
  ) : null;
}
