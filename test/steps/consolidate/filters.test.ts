import { describe, expect, it } from "vitest";
import { firstRejecting, resolveFilters, validateFilters } from "../../../src/steps/consolidate/filters.ts";

describe("consolidate filters", () => {
  it("drop-false drops documents whose attribute is false and keeps missing ones by default", () => {
    const filters = resolveFilters([{ type: "drop-false", attribute: "is_cluster_canonical" }], {});
    expect(firstRejecting(filters, { is_cluster_canonical: false })).toBe("drop-false:is_cluster_canonical");
    expect(firstRejecting(filters, { is_cluster_canonical: true })).toBeNull();
    expect(firstRejecting(filters, {})).toBeNull();
    const strict = resolveFilters([{ type: "drop-false", attribute: "x", keepIfMissing: false }], {});
    expect(firstRejecting(strict, undefined)).toBe("drop-false:x");
  });

  it("reports the first rejecting filter in order", () => {
    const filters = resolveFilters(
      [
        { type: "drop-false", attribute: "canonical" },
        { type: "threshold", attribute: "score", min: 0.5 },
      ],
      {},
    );
    expect(firstRejecting(filters, { canonical: false, score: 0.1 })).toBe("drop-false:canonical");
    expect(firstRejecting(filters, { canonical: true, score: 0.1 })).toBe("threshold:score");
    expect(firstRejecting(filters, { canonical: true, score: 0.9 })).toBeNull();
  });

  it("refuses an unknown filter type, naming the accepted ones", () => {
    let err: { message?: string; hint?: string } = {};
    try {
      validateFilters([{ type: "drop-maybe", attribute: "x" } as never]);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err.message).toContain("unknown type 'drop-maybe'");
    expect(err.hint).toBe("use 'drop-true', 'drop-false', 'threshold' or 'fraction'");
  });
});
