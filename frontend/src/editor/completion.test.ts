import { describe, expect, it } from "vitest";
import { completionAt } from "./completion";

const at = (text: string) => completionAt(text.replace("|", ""), text.indexOf("|"));

describe("BAPI completion", () => {
  it("offers function names after CALL FUNCTION", () => {
    expect(at("CALL FUNCTION BAPI_SAL|")).toEqual({ kind: "function", prefix: "BAPI_SAL", start: 14 });
    expect(at("call function |")).toEqual({ kind: "function", prefix: "", start: 14 });
  });

  it("offers the call's parameters first in one of its objects", () => {
    expect(at("CALL FUNCTION bapi_x AS x: [\n  (CUST|")).toEqual({ kind: "parameter", fn: "BAPI_X", prefix: "CUST", start: 32 });
    expect(at("CALL FUNCTION A: [(X: 1), (|")?.kind).toBe("parameter");
    expect(at("CALL FUNCTION A: [(X: 1, |")?.kind).toBe("parameter");
  });

  it("offers nothing in values, structures, table rows, strings or outside calls", () => {
    expect(at("CALL FUNCTION A: [(X: |")).toBeNull();
    expect(at("CALL FUNCTION A: [(H: (DOC|")).toBeNull();
    expect(at("CALL FUNCTION A: [(T: [(F|")).toBeNull();
    expect(at("CALL FUNCTION A: [(X: '(a|")).toBeNull();
    expect(at("(X|")).toBeNull();
  });

  it("follows the last call of several", () => {
    expect(at("CALL FUNCTION A: [(X: 1)]\nCALL FUNCTION B: [(|")).toMatchObject({ fn: "B" });
  });
});
