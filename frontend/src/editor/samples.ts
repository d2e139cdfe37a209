/**
 * Sample data, as the server keeps it (``flows/samples.py``): the draft's ``sample`` trigger payload
 * (pasted JSON or XML, or the input of an execution) and a step's pinned ``sample_output``. From them
 * the properties tree lists real fields with their types before anything has run, with the ``{{ }}``
 * path each field needs (array items by index, odd keys in brackets), as the server's picker writes them.
 */
import type { PropertyField } from "./api";

export type Sample =
  | { format: "json" | "xml"; text: string }
  | { format: "execution"; execution: number; payload: unknown };

/** The server's bound (``flows.samples.MAX_SAMPLE_CHARS``); a save above it is refused. */
export const MAX_SAMPLE_CHARS = 64 * 1024;
const MAX_FIELDS = 200;
const MAX_DEPTH = 6;
const EXAMPLE_CHARS = 80;

export function sizeProblem(chars: number, what: string): string | null {
  if (chars <= MAX_SAMPLE_CHARS) return null;
  return (
    `The ${what} has ${chars.toLocaleString("en")} characters; a sample may have at most ${MAX_SAMPLE_CHARS.toLocaleString("en")}. ` +
    "Keep a few representative records: the picker needs each field once, not every row."
  );
}

export function typeOf(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "object") return "object";
  return typeof value === "string" || typeof value === "number" || typeof value === "boolean" ? typeof value : "value";
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** ``prefix.key``, or ``prefix["odd key"]`` when the key is not a plain name. */
export function childPath(prefix: string, key: string): string {
  return IDENTIFIER.test(key) ? `${prefix}.${key}` : `${prefix}[${JSON.stringify(key)}]`;
}

function example(value: unknown): unknown {
  if (typeof value === "string") return value.length > EXAMPLE_CHARS ? `${value.slice(0, EXAMPLE_CHARS)}…` : value;
  if (value !== null && typeof value === "object") {
    const text = JSON.stringify(value);
    return text.length > EXAMPLE_CHARS ? `${text.slice(0, EXAMPLE_CHARS)}…` : text;
  }
  return value;
}

/** Every field of ``value`` under ``prefix``, breadth first, keys sorted; a list shows its first item as ``[0]``. */
export function fieldsOf(prefix: string, value: unknown, limit = MAX_FIELDS): PropertyField[] {
  const out: PropertyField[] = [];
  const pending: [string, unknown, number][] = [[prefix, value, 0]];
  while (pending.length && out.length < limit) {
    const [path, current, depth] = pending.shift() as [string, unknown, number];
    out.push({ expression: path, type: typeOf(current), example: example(current) });
    if (depth >= MAX_DEPTH) continue;
    if (Array.isArray(current)) {
      if (current.length) pending.push([`${path}[0]`, current[0], depth + 1]);
    } else if (current !== null && typeof current === "object") {
      for (const key of Object.keys(current).sort()) pending.push([childPath(path, key), (current as Record<string, unknown>)[key], depth + 1]);
    }
  }
  return out;
}

/**
 * An XML document as the server reads a webhook's XML (``xmltodict``): attributes as ``@name``, text
 * beside children or attributes as ``#text``, a repeated element as a list, an empty one as null.
 */
export function xmlValue(element: Element): unknown {
  const value: Record<string, unknown> = {};
  for (const attribute of Array.from(element.attributes)) value[`@${attribute.name}`] = attribute.value;
  const lists = new Set<string>();
  let text = "";
  for (const child of Array.from(element.childNodes)) {
    if (child.nodeType === Node.ELEMENT_NODE) {
      const name = (child as Element).tagName;
      const item = xmlValue(child as Element);
      if (lists.has(name)) (value[name] as unknown[]).push(item);
      else if (name in value) {
        value[name] = [value[name], item];
        lists.add(name);
      } else value[name] = item;
    } else if (child.nodeType === Node.TEXT_NODE || child.nodeType === Node.CDATA_SECTION_NODE) text += child.nodeValue ?? "";
  }
  const trimmed = text.trim();
  if (!Object.keys(value).length) return trimmed || null;
  if (trimmed) value["#text"] = trimmed;
  return value;
}

export type XmlParser = (text: string) => { root: Element } | { error: string };

/** The browser's parser; a test passes another. */
export const browserXml: XmlParser = (text) => {
  const doc = new DOMParser().parseFromString(text, "application/xml");
  const failed = doc.getElementsByTagName("parsererror")[0];
  if (failed) return { error: `The sample is not well-formed XML: ${(failed.textContent ?? "").split("\n")[0]}` };
  return { root: doc.documentElement };
};

/** The payload a sample stands for, or why it cannot be read. */
export function samplePayload(sample: Sample, xml: XmlParser = browserXml): { payload: unknown } | { error: string } {
  if (sample.format === "execution") return { payload: sample.payload };
  const size = sizeProblem(sample.text.length, "sample payload");
  if (size) return { error: size };
  if (!sample.text.trim()) return { payload: {} };
  if (sample.format === "json") {
    try {
      return { payload: JSON.parse(sample.text) };
    } catch (error) {
      return { error: `The sample is not JSON: ${(error as Error).message}` };
    }
  }
  const parsed = xml(sample.text);
  if ("error" in parsed) return parsed;
  return { payload: { [parsed.root.tagName]: xmlValue(parsed.root) } };
}

/** The trigger fields a sample gives the properties tree (``trigger.payload...``), or the reason it gives none. */
export function sampleFields(sample: Sample, xml: XmlParser = browserXml): { fields: PropertyField[] } | { error: string } {
  const read = samplePayload(sample, xml);
  return "error" in read ? read : { fields: fieldsOf("trigger.payload", read.payload) };
}
