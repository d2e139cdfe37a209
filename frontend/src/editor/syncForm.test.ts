import { describe, expect, it } from "vitest";
import type { TableSchema } from "./api";
import { fieldRows, fieldsOf, keyHasIndex, readConstant, readScope, sampleRows, scopeText, suggestedKey } from "./syncForm";

const customers: TableSchema = {
  name: "customers",
  columns: [
    { name: "id", type: "INTEGER", nullable: false, default: null },
    { name: "code", type: "TEXT", nullable: false, default: null },
    { name: "name", type: "TEXT", nullable: true, default: null },
    { name: "source", type: "TEXT", nullable: true, default: null },
  ],
  unique_indexes: [
    { name: "customers_code", primary: false, columns: ["code"] },
    { name: "pk", primary: true, columns: ["id"] },
  ],
};

describe("the sync form", () => {
  it("lists every column of the table with its assignment, and keeps assignments to other columns", () => {
    const rows = fieldRows(customers.columns, [
      { column: "CODE", expression: "KUNNR" },
      { column: "source", constant: "SAP" },
      { column: "legacy", expression: "X", default: 0 },
    ]);
    expect(rows.map((r) => [r.column, r.source, r.value, r.default])).toEqual([
      ["id", "", "", ""],
      ["code", "expression", "KUNNR", ""],
      ["name", "", "", ""],
      ["source", "constant", "SAP", ""],
      ["legacy", "expression", "X", "0"],
    ]);
  });

  it("writes only the columns given a source, constants and defaults read as JSON when they are", () => {
    const rows = fieldRows(customers.columns, []);
    rows[1] = { ...rows[1], source: "expression", value: "KUNNR" };
    rows[2] = { ...rows[2], source: "expression", value: "NAME1", default: "(none)" };
    rows[3] = { ...rows[3], source: "constant", value: "42" };
    expect(fieldsOf(rows)).toEqual([
      { column: "code", expression: "KUNNR" },
      { column: "name", expression: "NAME1", default: "(none)" },
      { column: "source", constant: 42 },
    ]);
    expect([readConstant("true"), readConstant('"42"'), readConstant("SAP"), readConstant("null")]).toEqual([true, "42", "SAP", null]);
  });

  it("suggests the primary key, else the first unique index, and tells whether a key has an index", () => {
    expect(suggestedKey(customers)).toEqual(["id"]);
    expect(suggestedKey({ ...customers, unique_indexes: customers.unique_indexes.slice(0, 1) })).toEqual(["code"]);
    expect(suggestedKey({ ...customers, unique_indexes: [] })).toEqual([]);
    expect(keyHasIndex(customers, ["CODE"])).toBe(true);
    expect(keyHasIndex(customers, ["code", "name"])).toBe(false);
  });

  it("takes the sample rows from the output of the step the rows expression names", () => {
    const outputs = { read: { rows: [{ KUNNR: "C-1" }], one: { KUNNR: "C-2" } }, scalar: 3 };
    expect(sampleRows("{{ steps.read.rows }}", outputs)).toEqual([{ KUNNR: "C-1" }]);
    expect(sampleRows(" {{steps.read.one}} ", outputs)).toEqual([{ KUNNR: "C-2" }]);
    expect(sampleRows("{{ steps.scalar }}", outputs)).toBeNull();
    expect(sampleRows("{{ steps.other.rows }}", outputs)).toBeNull();
    expect(sampleRows("$.steps.read.rows", outputs)).toBeNull();
  });

  it("reads a scope as column = value lines, naming the line that is not", () => {
    expect(readScope("source = SAP\n\nactive = true")).toEqual({ scope: { source: "SAP", active: true }, problem: null });
    expect(readScope("source SAP").problem).toBe("Line 1 of the scope: write column = value.");
    expect(scopeText({ source: "SAP", region: 3 })).toBe("source = SAP\nregion = 3");
  });
});
