import { describe, expect, it } from "vitest";
import { childPath, fieldsOf, MAX_SAMPLE_CHARS, sampleFields, samplePayload, sizeProblem } from "./samples";

describe("fieldsOf", () => {
  it("lists every field with its type and the path that reaches it, array items by index", () => {
    const fields = fieldsOf("trigger.payload", { order: { no: "SO-7", lines: [{ sku: "A", qty: 2 }] }, rush: true, note: null });
    expect(fields.map((f) => [f.expression, f.type])).toEqual([
      ["trigger.payload", "object"],
      ["trigger.payload.note", "null"],
      ["trigger.payload.order", "object"],
      ["trigger.payload.rush", "boolean"],
      ["trigger.payload.order.lines", "array"],
      ["trigger.payload.order.no", "string"],
      ["trigger.payload.order.lines[0]", "object"],
      ["trigger.payload.order.lines[0].qty", "number"],
      ["trigger.payload.order.lines[0].sku", "string"],
    ]);
  });

  it("writes keys that are not plain names in brackets, as the server does", () => {
    expect(childPath("trigger.headers", "X-Tenant")).toBe('trigger.headers["X-Tenant"]');
    expect(childPath("steps.load", "@no")).toBe('steps.load["@no"]');
    expect(childPath("steps.load", "rows")).toBe("steps.load.rows");
  });

  it("shortens long examples and stops at the field limit", () => {
    const [top] = fieldsOf("x", "a".repeat(100));
    expect(top.example).toBe(`${"a".repeat(80)}…`);
    const wide = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i]));
    expect(fieldsOf("x", wide)).toHaveLength(200);
  });
});

describe("samplePayload", () => {
  it("reads a JSON sample, an empty one as an empty object, and says where JSON breaks", () => {
    expect(samplePayload({ format: "json", text: '{"a": [1]}' })).toEqual({ payload: { a: [1] } });
    expect(samplePayload({ format: "json", text: "  " })).toEqual({ payload: {} });
    const broken = samplePayload({ format: "json", text: '{"a": ' });
    expect("error" in broken && broken.error).toMatch(/^The sample is not JSON: /);
  });

  it("takes an execution's payload as it was copied", () => {
    expect(samplePayload({ format: "execution", execution: 4, payload: { id: 1 } })).toEqual({ payload: { id: 1 } });
  });

  it("refuses a sample above the server's bound with its size and the limit", () => {
    const text = "x".repeat(MAX_SAMPLE_CHARS + 1);
    expect(samplePayload({ format: "json", text })).toEqual({ error: sizeProblem(text.length, "sample payload") });
    expect(sizeProblem(MAX_SAMPLE_CHARS + 1, "sample payload")).toContain("has 65,537 characters; a sample may have at most 65,536");
    expect(sizeProblem(MAX_SAMPLE_CHARS, "sample payload")).toBeNull();
  });

  it("gives the trigger fields of a sample", () => {
    const found = sampleFields({ format: "json", text: '{"rows": [{"code": "C-1"}]}' });
    expect("fields" in found && found.fields.map((f) => f.expression)).toEqual([
      "trigger.payload",
      "trigger.payload.rows",
      "trigger.payload.rows[0]",
      "trigger.payload.rows[0].code",
    ]);
  });
});
