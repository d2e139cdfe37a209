import { describe, expect, it } from "vitest";

import { MAX_LABEL_CHARACTERS, ellipsize } from "./labels";

describe("ellipsize", () => {
  it("keeps a label that fits", () => {
    expect(ellipsize("Price an order")).toBe("Price an order");
    expect(ellipsize("x".repeat(MAX_LABEL_CHARACTERS))).toBe("x".repeat(MAX_LABEL_CHARACTERS));
  });

  it("cuts a long label to the limit, ending with an ellipsis", () => {
    const cut = ellipsize("Read open orders of the customer · Synchronise the warehouse stock");
    expect(Array.from(cut)).toHaveLength(MAX_LABEL_CHARACTERS);
    expect(cut.endsWith("…")).toBe(true);
    expect(cut.startsWith("Read open orders of the")).toBe(true);
  });

  it("never cuts a character in half", () => {
    const cut = ellipsize("🚚".repeat(40), 5);
    expect(cut).toBe("🚚🚚🚚🚚…");
  });
});
