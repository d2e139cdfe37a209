/**
 * A step's retry policy (``flows/retries.py``) as the step form edits it: text fields the user types, read
 * back into the policy the server checks, with one message per field that is wrong. Off (no ``retry``) is
 * the default: a step runs once.
 */

export interface RetryPolicy {
  max_attempts: number;
  initial_ms: number;
  multiplier: number;
  max_ms: number;
  jitter: number;
  on: { timeout: boolean; connection: boolean; http_status: number[]; sap_messages: string[]; db_errors: string[] };
}

export interface RetryForm {
  enabled: boolean;
  max_attempts: string;
  initial_ms: string;
  multiplier: string;
  max_ms: string;
  jitter: string;
  timeout: boolean;
  connection: boolean;
  http_status: string;
  sap_messages: string;
  db_errors: string;
}

/** The server's defaults (``retries.DEFAULTS`` and ``DEFAULT_RETRY_ON``), three attempts when turned on. */
export const RETRY_DEFAULTS: RetryPolicy = {
  max_attempts: 3,
  initial_ms: 1000,
  multiplier: 2,
  max_ms: 60000,
  jitter: 0.2,
  on: { timeout: true, connection: true, http_status: [429, 502, 503, 504], sap_messages: [], db_errors: ["serialization_failure", "deadlock"] },
};

const MAX_WAIT_MS = 24 * 3600 * 1000;

export function retryForm(retry: unknown): RetryForm {
  const given = (retry && typeof retry === "object" ? retry : null) as Partial<RetryPolicy> | null;
  const policy = { ...RETRY_DEFAULTS, ...(given ?? {}), on: { ...RETRY_DEFAULTS.on, ...(given?.on ?? {}) } };
  return {
    enabled: given !== null && (policy.max_attempts ?? 1) > 1,
    max_attempts: String(policy.max_attempts),
    initial_ms: String(policy.initial_ms),
    multiplier: String(policy.multiplier),
    max_ms: String(policy.max_ms),
    jitter: String(policy.jitter),
    timeout: !!policy.on.timeout,
    connection: !!policy.on.connection,
    http_status: policy.on.http_status.join(", "),
    sap_messages: policy.on.sap_messages.join(", "),
    db_errors: policy.on.db_errors.join(", "),
  };
}

const list = (text: string) =>
  text
    .split(/[,\s]+/)
    .map((part) => part.trim())
    .filter(Boolean);

/** The policy the form describes (undefined: off), or the problems, each naming its field. */
export function readRetry(form: RetryForm): { retry?: RetryPolicy; problems: Record<string, string> } {
  if (!form.enabled) return { problems: {} };
  const problems: Record<string, string> = {};
  const number = (name: keyof RetryForm, label: string, low: number, high: number, whole: boolean): number => {
    const text = String(form[name]).trim();
    const value = Number(text);
    if (!text || !Number.isFinite(value) || (whole && !Number.isInteger(value)) || value < low || value > high) {
      problems[name] = `${label} must be ${whole ? "a whole number" : "a number"} from ${low} to ${high}.`;
    }
    return value;
  };
  const max_attempts = number("max_attempts", "Attempts", 2, 10, true);
  const initial_ms = number("initial_ms", "The first wait", 0, MAX_WAIT_MS, true);
  const multiplier = number("multiplier", "The multiplier", 1, 10, false);
  const max_ms = number("max_ms", "The longest wait", 0, MAX_WAIT_MS, true);
  const jitter = number("jitter", "The jitter", 0, 1, false);
  const statuses = list(form.http_status);
  const bad = statuses.filter((s) => !/^\d{3}$/.test(s) || Number(s) < 100 || Number(s) > 599);
  if (bad.length) problems.http_status = `Not HTTP statuses: ${bad.join(", ")} (give codes such as 429, 503).`;
  if (Object.keys(problems).length) return { problems };
  return {
    problems,
    retry: {
      max_attempts,
      initial_ms,
      multiplier,
      max_ms,
      jitter,
      on: {
        timeout: form.timeout,
        connection: form.connection,
        http_status: statuses.map(Number),
        sap_messages: list(form.sap_messages),
        db_errors: list(form.db_errors),
      },
    },
  };
}

/** The waits before each retry without jitter, as the form explains them: "1000 ms, 2000 ms". */
export function waits(policy: Pick<RetryPolicy, "max_attempts" | "initial_ms" | "multiplier" | "max_ms">): number[] {
  return Array.from({ length: Math.max(0, policy.max_attempts - 1) }, (_, n) => Math.min(policy.initial_ms * policy.multiplier ** n, policy.max_ms));
}
