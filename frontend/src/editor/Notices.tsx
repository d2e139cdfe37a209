/** What floats over the canvas for a moment: the hint why a connection was refused, and the last notice. */
import { useEffect } from "react";
import { useEditor } from "./useEditor";

export function Notices() {
  const hint = useEditor((s) => s.hint);
  const notice = useEditor((s) => s.notice);
  const dismissHint = useEditor((s) => s.dismissHint);
  const dismissNotice = useEditor((s) => s.dismissNotice);

  // A notice that went well fades after 4 seconds; an error stays until clicked.
  useEffect(() => {
    if (!notice || notice.kind === "error") return;
    const timer = window.setTimeout(dismissNotice, 4000);
    return () => window.clearTimeout(timer);
  }, [notice, dismissNotice]);

  useEffect(() => {
    if (!hint) return;
    const timer = window.setTimeout(dismissHint, 5000);
    return () => window.clearTimeout(timer);
  }, [hint, dismissHint]);

  return (
    <>
      {hint && (
        <p className="hint" role="alert">
          {hint}
        </p>
      )}
      {notice && (
        <p className={`notice notice-${notice.kind}`} role="status" onClick={dismissNotice}>
          {notice.text}
        </p>
      )}
    </>
  );
}
