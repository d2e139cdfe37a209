/** The retry policy in the step form: off by default; on, the attempts, the waits and what to retry on. */
import { readRetry, waits, type RetryForm } from "../retry";

interface Props {
  form: RetryForm;
  readOnly: boolean;
  onChange: (form: RetryForm) => void;
}

export function RetryFields({ form, readOnly, onChange }: Props) {
  const { retry, problems } = readRetry(form);
  const text = (name: keyof RetryForm, label: string, help?: string) => (
    <div className="field compact">
      <label htmlFor={`retry-${name}`}>{label}</label>
      <input
        id={`retry-${name}`}
        value={String(form[name])}
        readOnly={readOnly}
        aria-invalid={!!problems[name]}
        onChange={(e) => onChange({ ...form, [name]: e.target.value })}
      />
      {problems[name] ? <p className="field-error">{problems[name]}</p> : help && <p className="help">{help}</p>}
    </div>
  );
  const flag = (name: "timeout" | "connection", label: string) => (
    <label className="switch-row">
      <input type="checkbox" checked={form[name]} disabled={readOnly} onChange={(e) => onChange({ ...form, [name]: e.target.checked })} /> {label}
    </label>
  );
  return (
    <fieldset className="retry">
      <legend>Retry</legend>
      <label className="switch-row" htmlFor="retry-enabled">
        <input id="retry-enabled" type="checkbox" role="switch" checked={form.enabled} disabled={readOnly} onChange={(e) => onChange({ ...form, enabled: e.target.checked })} />
        Try again when it fails
      </label>
      {!form.enabled && <p className="help">Off: the step runs once. Ignore Errors applies after the last attempt.</p>}
      {form.enabled && (
        <>
          <div className="retry-grid">
            {text("max_attempts", "Attempts", "2 to 10, the first included.")}
            {text("initial_ms", "First wait (ms)")}
            {text("multiplier", "Multiplier")}
            {text("max_ms", "Longest wait (ms)")}
            {text("jitter", "Jitter (0 to 1)", "0.2: each wait ±20 %.")}
          </div>
          {retry && <p className="help">Waits before the retries: {waits(retry).map((ms) => `${ms} ms`).join(", ")}; a server's Retry-After is honoured when longer.</p>}
          <span className="label">Retry on</span>
          {flag("timeout", "Timeouts")}
          {flag("connection", "Connection failures")}
          {text("http_status", "HTTP statuses", "Comma-separated, such as 429, 502, 503, 504.")}
          {text("sap_messages", "SAP messages", "Message ids such as V1/042, comma-separated.")}
          {text("db_errors", "Database errors", "Such as serialization_failure, deadlock.")}
        </>
      )}
    </fieldset>
  );
}
