/** What the step form checks of a kind's own settings as they are typed (the server checks them again on save). */
import type { KindField } from "./kinds";

export type Values = Record<string, unknown>;

/** The message for one setting, or null when it is fine. */
export function fieldProblem(field: KindField, values: Values): string | null {
  const value = values[field.name];
  if (field.type === "int") {
    if (typeof value !== "number" || !Number.isInteger(value)) return `${field.label}: enter a whole number.`;
    if ((field.min !== undefined && value < field.min) || (field.max !== undefined && value > field.max)) {
      return `${field.label} must be from ${field.min} to ${field.max} (it is ${value}).`;
    }
  }
  if (field.type === "flow" && typeof value !== "number") return "Choose the flow to call.";
  if (field.type === "expression" && field.name === "items" && !(typeof value === "string" && value.trim())) {
    return "Say which list to go through, such as {{ steps.read.rows }}.";
  }
  if (field.type === "headers") {
    const names = Object.keys((value ?? {}) as object);
    const bad = names.find((name) => !/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/.test(name));
    if (bad !== undefined) return `“${bad}” is not a header name (letters, digits and - only).`;
  }
  if (field.type === "delay") {
    const until = typeof values.until === "string" ? values.until.trim() : "";
    const delay = values.delay_ms;
    if (delay === null || delay === undefined) {
      if (!until) return "Give a pause in milliseconds, or a moment to wait until.";
    } else if (typeof delay !== "number" || !Number.isInteger(delay) || delay < 0 || delay > 30 * 24 * 3600 * 1000) {
      return "The pause must be a whole number of milliseconds, at most thirty days (2592000000).";
    }
  }
  return null;
}

export function problemsOf(fields: KindField[], values: Values): Record<string, string> {
  const found: Record<string, string> = {};
  for (const field of fields) {
    const problem = fieldProblem(field, values);
    if (problem) found[field.name] = problem;
  }
  return found;
}

/** The headers grid's rows as the step's ``headers`` object; rows without a name are left out. */
export function headersOf(rows: [string, string][]): Record<string, string> {
  return Object.fromEntries(rows.filter(([name]) => name.trim()).map(([name, value]) => [name.trim(), value]));
}
