import { describe, expect, it } from "vitest";
import { concatExpression, insertAt, offsetOf, tokenize } from "./highlight";

describe("highlighting", () => {
  it("gives back the text exactly and marks keywords, strings and expressions", () => {
    const text = "SELECT name FROM t WHERE code = {{ trigger.payload.code }} AND note = 'it''s' -- why";
    const tokens = tokenize(text, "sql");
    expect(tokens.map((t) => t.text).join("")).toBe(text);
    expect(tokens.find((t) => t.cls === "tpl")?.text).toBe("{{ trigger.payload.code }}");
    expect(tokens.find((t) => t.cls === "str")?.text).toBe("'it''s'");
    expect(tokens.filter((t) => t.cls === "kw").map((t) => t.text)).toEqual(["SELECT", "FROM", "WHERE", "AND"]);
    expect(tokens[tokens.length - 1]).toEqual({ text: "-- why", cls: "com" });
  });

  it("marks the request line and headers of the HTTP format", () => {
    const tokens = tokenize('POST /orders\nContent-Type: application/json\n\n{"a": 1}', "http");
    expect(tokens[0]).toEqual({ text: "POST", cls: "method" });
    expect(tokens.some((t) => t.cls === "key" && t.text === "Content-Type")).toBe(true);
  });

  it("keeps any text of an unknown language intact", () => {
    const text = "CALL {{ x }} {weird";
    expect(tokenize(text, "nope").map((t) => t.text).join("")).toBe(text);
  });
});

describe("editing helpers", () => {
  it("finds the offset of a server problem's line and column", () => {
    expect(offsetOf("ab\ncd", 2, 2)).toBe(4);
    expect(offsetOf("ab", 9, 9)).toBe(2);
  });

  it("inserts at the cursor, replacing the selection", () => {
    expect(insertAt("WHERE x = ", 10, 10, "{{ a }}")).toEqual({ text: "WHERE x = {{ a }}", caret: 17 });
    expect(insertAt("a OLD b", 2, 5, "NEW")).toEqual({ text: "a NEW b", caret: 5 });
  });

  it("builds concat with properties as they are and text quoted", () => {
    expect(
      concatExpression([
        { kind: "property", value: "trigger.payload.first" },
        { kind: "text", value: ' "x" ' },
        { kind: "property", value: "" },
      ]),
    ).toBe('{{ concat(trigger.payload.first, " \\"x\\" ") }}');
  });
});
