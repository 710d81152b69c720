/**
 * The one table formatter the CLI and pipelines' report hooks share.
 */
import { describe, expect, it } from "vitest";
import { formatTable } from "../../src/cli/table.ts";

describe("formatTable", () => {
  it("left-aligns the first column and text columns, right-aligns numeric ones, and leaves no trailing spaces", () => {
    const out = formatTable(
      ["step", "state", "output", "duration"],
      [
        ["tokenize", "SUCCESS", "/out/tokenize-1a2b3c4d", "12.5 s"],
        ["train", "not started", "/out/train-5e6f7a8b", ""],
        ["eval", "FAILED", "/out/eval-9c0d1e2f", "0.3 s"],
      ],
    );
    expect(out.split("\n")).toEqual([
      "step      state        output                  duration",
      "--------  -----------  ----------------------  --------",
      "tokenize  SUCCESS      /out/tokenize-1a2b3c4d    12.5 s",
      "train     not started  /out/train-5e6f7a8b",
      "eval      FAILED       /out/eval-9c0d1e2f         0.3 s",
    ]);
  });

  it("lines up report numbers with placeholders and a totals row, as pipelines print them", () => {
    const out = formatTable(
      ["source", "train tokens", "bits per byte"],
      [
        ["brown", 120000, "1.2345"],
        ["spam", "-", "0.98"],
        ["macro average", "", "1.1073"],
      ],
    );
    expect(out).toBe(
      [
        "source         train tokens  bits per byte",
        "-------------  ------------  -------------",
        "brown                120000         1.2345",
        "spam                      -           0.98",
        "macro average                       1.1073",
      ].join("\n"),
    );
  });

  it("treats percentages, thousands separators, exponents and units as numbers, but not hashes or dates", () => {
    const numeric = ["45%", "1,234", "1e-3", "3 MB", "2x", "120 tok/s"];
    const width = Math.max(...numeric.map((c) => c.length));
    const rows = formatTable(["k", "v"], numeric.map((c) => ["r", c])).split("\n").slice(2);
    expect(rows).toEqual(numeric.map((c) => `r  ${c.padStart(width)}`));
    for (const text of ["0975991d", "2024-01-01"]) {
      const lines = formatTable(["k", "v"], [["r", text], ["r", "12"]]).split("\n");
      expect(lines[3]).toBe("r  12");
    }
  });

  it("leaves out the rule on request and takes alignment overrides and ragged rows", () => {
    const out = formatTable(["name", "n", "note"], [["a", 1], ["bbb", 22, "x"]], { separator: false, align: [undefined, "left", "right"] });
    expect(out.split("\n")).toEqual(["name  n   note", "a     1", "bbb   22     x"]);
  });
});
