/**
 * Heuristic rule sets over the attributes of heuristics.ts, each named after the filter it mirrors,
 * with that filter's published thresholds. A document passes a set when every rule of the set
 * holds (min ≤ value ≤ max); the quality step writes `<set>_pass` per document and counts, per
 * source, the documents each rule would drop.
 *
 * - gopher: the quality and repetition filters of Rae et al. 2021 (MassiveText): 50–100,000 words,
 *   mean word length 3–10, symbol/word ≤ 0.1, ≤ 90 % bullet lines, ≤ 30 % lines ending in an
 *   ellipsis, ≥ 80 % words with a letter, ≥ 2 stop words; duplicate lines ≤ 30 % (≤ 20 % of
 *   characters), duplicate paragraphs ≤ 30 % (≤ 20 % of characters), top 2/3/4-gram ≤ 20/18/16 % of
 *   characters, duplicated 5…10-grams ≤ 15/14/13/12/11/10 % of characters.
 * - c4: the document rules of Raffel et al. 2020 (C4): no "lorem ipsum", no curly bracket, at least
 *   3 sentences. C4's line rules (drop lines without terminal punctuation, with few words, or naming
 *   javascript) rewrite text, which an attribute step does not; their fractions are attributes.
 * - fineweb: the custom filters of Penedo et al. 2024 (FineWeb): ≥ 12 % of lines end in terminal
 *   punctuation, ≤ 67 % of lines are 30 characters or shorter, ≤ 10 % of characters are in
 *   duplicated lines, newlines/words ≤ 0.3.
 */
export type RuleSetName = "gopher" | "c4" | "fineweb";
export const RULE_SET_NAMES: readonly RuleSetName[] = ["gopher", "c4", "fineweb"];

export interface QualityRule {
  /** Unique within its set; names the counter of documents it drops. */
  name: string;
  attribute: string;
  min?: number;
  max?: number;
}

const maxRule = (attribute: string, max: number): QualityRule => ({ name: attribute, attribute, max });
const minRule = (attribute: string, min: number): QualityRule => ({ name: attribute, attribute, min });

export const RULE_SETS: Readonly<Record<RuleSetName, readonly QualityRule[]>> = {
  gopher: [
    { name: "word_count", attribute: "word_count", min: 50, max: 100_000 },
    { name: "mean_word_length", attribute: "mean_word_length", min: 3, max: 10 },
    maxRule("symbol_to_word_ratio", 0.1),
    maxRule("bullet_line_fraction", 0.9),
    maxRule("ellipsis_line_fraction", 0.3),
    minRule("alpha_word_fraction", 0.8),
    minRule("stop_word_count", 2),
    maxRule("duplicate_line_fraction", 0.3),
    maxRule("duplicate_paragraph_fraction", 0.3),
    maxRule("duplicate_line_char_fraction", 0.2),
    maxRule("duplicate_paragraph_char_fraction", 0.2),
    maxRule("top_2gram_char_fraction", 0.2),
    maxRule("top_3gram_char_fraction", 0.18),
    maxRule("top_4gram_char_fraction", 0.16),
    maxRule("duplicate_5gram_char_fraction", 0.15),
    maxRule("duplicate_6gram_char_fraction", 0.14),
    maxRule("duplicate_7gram_char_fraction", 0.13),
    maxRule("duplicate_8gram_char_fraction", 0.12),
    maxRule("duplicate_9gram_char_fraction", 0.11),
    maxRule("duplicate_10gram_char_fraction", 0.1),
  ],
  c4: [maxRule("has_lorem_ipsum", 0), maxRule("has_curly_bracket", 0), minRule("sentence_count", 3)],
  fineweb: [
    minRule("terminal_punctuation_line_fraction", 0.12),
    maxRule("short_line_fraction", 0.67),
    maxRule("duplicate_line_char_fraction", 0.1),
    maxRule("newline_to_word_ratio", 0.3),
  ],
};

export function isRuleSetName(name: unknown): name is RuleSetName {
  return typeof name === "string" && (RULE_SET_NAMES as readonly string[]).includes(name);
}

/** Names of the rules of `set` that `attributes` break (a missing attribute breaks its rule). */
export function brokenRules(set: RuleSetName, attributes: Readonly<Record<string, number>>): string[] {
  const broken: string[] = [];
  for (const rule of RULE_SETS[set]) {
    const value = attributes[rule.attribute];
    if (typeof value !== "number" || (rule.min !== undefined && value < rule.min) || (rule.max !== undefined && value > rule.max)) broken.push(rule.name);
  }
  return broken;
}

/** The attribute column of a set's verdict. */
export function passColumn(set: RuleSetName): string {
  return `${set}_pass`;
}
