/** Hand-computed fixtures for the heuristic quality attributes (arithmetic in the comments). */
import { describe, expect, it } from "vitest";
import { QUALITY_ATTRIBUTE_NAMES, qualityAttributes } from "../../../src/steps/quality/index.ts";
import { brownDocuments } from "../minhash/corpora.ts";

describe("qualityAttributes", () => {
  it("fixture 1: lines, bullets, ellipses, hashes, stop words, top n-grams, C4 flags", () => {
    const text = "The cat sat.\nThe cat sat.\n- buy now...\n#tag #tag2 with the dog\n\nLorem ipsum {x}";
    const a = qualityAttributes(text);
    // 17 whitespace tokens; 16 clean words (the lone "-" is punctuation only) of 52 characters.
    expect(a.word_count).toBe(17);
    expect(a.char_count).toBe(79); // 12 + 12 + 12 + 23 + 0 + 15 + 5 newlines
    expect(a.line_count).toBe(5);
    expect(a.paragraph_count).toBe(2);
    expect(a.mean_word_length).toBeCloseTo(52 / 16, 12);
    expect(a.hash_to_word_ratio).toBeCloseTo(2 / 17, 12);
    expect(a.ellipsis_to_word_ratio).toBeCloseTo(1 / 17, 12);
    expect(a.symbol_to_word_ratio).toBeCloseTo(3 / 17, 12);
    expect(a.bullet_line_fraction).toBeCloseTo(1 / 5, 12);
    expect(a.ellipsis_line_fraction).toBeCloseTo(1 / 5, 12);
    expect(a.alpha_word_fraction).toBeCloseTo(16 / 17, 12);
    expect(a.stop_word_count).toBe(4); // The, The, the, with
    expect(a.duplicate_line_fraction).toBeCloseTo(1 / 5, 12);
    expect(a.duplicate_line_char_fraction).toBeCloseTo(12 / 74, 12);
    expect(a.duplicate_paragraph_fraction).toBe(0);
    expect(a.duplicate_paragraph_char_fraction).toBe(0);
    expect(a.top_2gram_char_fraction).toBeCloseTo(12 / 52, 12); // "the cat" (6 chars) × 2
    expect(a.top_3gram_char_fraction).toBeCloseTo(18 / 52, 12); // "the cat sat" (9 chars) × 2
    expect(a.top_4gram_char_fraction).toBe(0); // no 4-gram repeats
    for (let n = 5; n <= 10; n++) expect(a[`duplicate_${n}gram_char_fraction`]).toBe(0);
    expect(a.terminal_punctuation_line_fraction).toBeCloseTo(3 / 5, 12);
    expect(a.short_line_fraction).toBe(1);
    expect(a.few_words_line_fraction).toBe(0);
    expect(a.has_lorem_ipsum).toBe(1);
    expect(a.has_curly_bracket).toBe(1);
    expect(a.javascript_line_fraction).toBe(0);
    expect(a.policy_line_fraction).toBe(0);
    expect(a.newline_to_word_ratio).toBeCloseTo(5 / 17, 12);
    expect(a.sentence_count).toBe(3);
  });

  it("fixture 2: duplicated n-grams, JavaScript and policy lines, few-word lines", () => {
    const text = "a b c d e f a b c d e f x\nEnable JavaScript\nSee our Privacy Policy now!\nok";
    const a = qualityAttributes(text);
    // 21 clean words, 53 characters: 13 single letters + 6+10+3+3+7+6+3+2.
    expect(a.word_count).toBe(21);
    expect(a.mean_word_length).toBeCloseTo(53 / 21, 12);
    // repeated 5-grams start at 6 and 7 and cover words 6..11 (6 chars); the 6-gram at 6 covers the same.
    expect(a.duplicate_5gram_char_fraction).toBeCloseTo(6 / 53, 12);
    expect(a.duplicate_6gram_char_fraction).toBeCloseTo(6 / 53, 12);
    for (let n = 7; n <= 10; n++) expect(a[`duplicate_${n}gram_char_fraction`]).toBe(0);
    expect(a.top_2gram_char_fraction).toBeCloseTo(4 / 53, 12);
    expect(a.top_3gram_char_fraction).toBeCloseTo(6 / 53, 12);
    expect(a.top_4gram_char_fraction).toBeCloseTo(8 / 53, 12);
    expect(a.javascript_line_fraction).toBeCloseTo(1 / 4, 12);
    expect(a.policy_line_fraction).toBeCloseTo(1 / 4, 12);
    expect(a.few_words_line_fraction).toBeCloseTo(2 / 4, 12);
    expect(a.terminal_punctuation_line_fraction).toBeCloseTo(1 / 4, 12);
    expect(a.stop_word_count).toBe(0);
    expect(a.sentence_count).toBe(1);
    expect(a.has_curly_bracket).toBe(0);
    expect(a.has_lorem_ipsum).toBe(0);
  });

  it("duplicate paragraphs by count and characters; empty text gives zeros, never NaN", () => {
    const a = qualityAttributes("one two\n\nthree\n\none two");
    expect(a.duplicate_paragraph_fraction).toBeCloseTo(1 / 3, 12);
    expect(a.duplicate_paragraph_char_fraction).toBeCloseTo(7 / 19, 12); // 7 of 7 + 5 + 7
    const empty = qualityAttributes("");
    for (const name of QUALITY_ATTRIBUTE_NAMES) {
      expect(Number.isFinite(empty[name])).toBe(true);
    }
    expect(empty.word_count).toBe(0);
  });

  it("every attribute is a finite number on real documents; prose looks like prose", () => {
    const docs = brownDocuments({ maxFiles: 3, minWords: 200 });
    for (const doc of docs) {
      const a = qualityAttributes(doc);
      expect(Object.keys(a)).toEqual([...QUALITY_ATTRIBUTE_NAMES]);
      for (const value of Object.values(a)) expect(Number.isFinite(value)).toBe(true);
      expect(a.alpha_word_fraction).toBeGreaterThan(0.8);
      expect(a.stop_word_count).toBeGreaterThan(5);
      expect(a.duplicate_10gram_char_fraction).toBeLessThan(0.2);
    }
  });
});
