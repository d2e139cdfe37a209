/**
 * The sync step's form (``instructions/sync_spec.py``) as pure functions: the field-assignment grid (one row
 * per column of the live table: expression, constant or nothing) to and from the step's ``fields``, the
 * constants typed as text read back as JSON values, the key guessed from the table's unique indexes, and the
 * sample rows for the preview taken from the pinned output of the step the rows come from.
 */
import type { TableSchema } from "./api";

export interface SyncSettings {
  rows: string;
  table: string;
  schema?: string | null;
  key: string[];
  mode: "upsert" | "delete" | "upsert-prune-scope";
  scope?: Record<string, unknown>;
  soft_delete?: { column: string; value: unknown } | null;
  fields: { column: string; expression?: string; constant?: unknown; default?: unknown }[];
  batch_size: number;
  prune_when_empty?: boolean;
}

export interface FieldRow {
  column: string;
  /** The column's type in the table, "" for an assignment to a column the table does not have. */
  type: string;
  source: "" | "expression" | "constant";
  value: string;
  default: string;
}

export const SYNC_MODES = [
  { value: "upsert", label: "Upsert: insert new keys, update changed rows" },
  { value: "delete", label: "Delete the rows whose keys are in the input" },
  { value: "upsert-prune-scope", label: "Upsert, then delete rows of the scope missing from the input" },
] as const;

/** A typed constant: JSON when it reads as JSON (42, true, null, "text"), else the text itself. */
export function readConstant(text: string): unknown {
  const trimmed = text.trim();
  if (!trimmed) return "";
  try {
    return JSON.parse(trimmed);
  } catch {
    return text;
  }
}

export function showConstant(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** One row per column of the table, in its order, filled from the step's fields; fields on other columns follow. */
export function fieldRows(columns: TableSchema["columns"], fields: SyncSettings["fields"]): FieldRow[] {
  const byColumn = new Map(fields.map((f) => [f.column.toLowerCase(), f]));
  const row = (column: string, type: string): FieldRow => {
    const field = byColumn.get(column.toLowerCase());
    if (!field) return { column, type, source: "", value: "", default: "" };
    if ("constant" in field) return { column, type, source: "constant", value: showConstant(field.constant), default: "" };
    return { column, type, source: "expression", value: field.expression ?? "", default: field.default === undefined ? "" : showConstant(field.default) };
  };
  const known = new Set(columns.map((c) => c.name.toLowerCase()));
  return [
    ...columns.map((c) => row(c.name, c.type)),
    ...fields.filter((f) => !known.has(f.column.toLowerCase())).map((f) => row(f.column, "")),
  ];
}

/** The step's ``fields`` from the grid: columns left without a source are not written. */
export function fieldsOf(rows: FieldRow[]): SyncSettings["fields"] {
  return rows
    .filter((r) => r.source)
    .map((r) => {
      if (r.source === "constant") return { column: r.column, constant: readConstant(r.value) };
      return r.default.trim() ? { column: r.column, expression: r.value, default: readConstant(r.default) } : { column: r.column, expression: r.value };
    });
}

/** The key a table suggests: its primary key, else its first unique index, else nothing. */
export function suggestedKey(table: TableSchema): string[] {
  const primary = table.unique_indexes.find((i) => i.primary);
  return [...(primary ?? table.unique_indexes[0])?.columns ?? []];
}

/** Whether the key columns are exactly those of a unique index (else the upsert cannot find rows by them). */
export function keyHasIndex(table: TableSchema, key: string[]): boolean {
  const wanted = [...key].map((k) => k.toLowerCase()).sort().join(",");
  return table.unique_indexes.some((i) => [...i.columns].map((c) => c.toLowerCase()).sort().join(",") === wanted);
}

/**
 * Sample rows for the preview: when ``rows`` is one ``{{ steps.<name>.<path> }}`` and that step has a pinned
 * sample output (or ran), the value at the path if it is a list of objects (one object is one row).
 */
export function sampleRows(rows: string, outputs: Record<string, unknown>): Record<string, unknown>[] | null {
  const match = rows.trim().match(/^\{\{\s*steps\.([\p{L}\p{N}_]+)((?:\.[\p{L}\p{N}_]+)*)\s*\}\}$/u);
  if (!match || !(match[1] in outputs)) return null;
  let value: unknown = outputs[match[1]];
  for (const part of match[2].split(".").filter(Boolean)) {
    value = value && typeof value === "object" ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (value && typeof value === "object" && !Array.isArray(value)) value = [value];
  return Array.isArray(value) && value.every((r) => r && typeof r === "object" && !Array.isArray(r)) ? (value as Record<string, unknown>[]) : null;
}

/** A scope or a soft delete as "column = value" lines, and back (values read as constants). */
export function scopeText(scope: Record<string, unknown> | undefined): string {
  return Object.entries(scope ?? {})
    .map(([column, value]) => `${column} = ${showConstant(value)}`)
    .join("\n");
}

export function readScope(text: string): { scope: Record<string, unknown>; problem: string | null } {
  const scope: Record<string, unknown> = {};
  for (const [index, line] of text.split("\n").entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf("=");
    if (at < 1) return { scope, problem: `Line ${index + 1} of the scope: write column = value.` };
    scope[line.slice(0, at).trim()] = readConstant(line.slice(at + 1).trim());
  }
  return { scope, problem: null };
}
