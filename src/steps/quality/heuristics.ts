/**
 * Heuristic quality attributes of one document, in the spirit of the Gopher quality and repetition
 * rules, the C4 line rules and the FineWeb rules. Every attribute is a NUMBER (flags are 0/1) so the
 * thresholds stay configuration, applied later. Definitions (all counts in UTF-16 code units; a
 * ratio whose denominator is 0 is 0):
 *
 * - words: whitespace-separated tokens. "Clean" word: the token lowercased with leading/trailing
 *   punctuation (\p{P}) removed; n-gram and stop-word rules use clean words and skip empty ones.
 * - lines: the text split on "\n", each trimmed, empty lines dropped. paragraphs: split on a blank
 *   line (two or more newlines, whitespace between allowed), trimmed, empty ones dropped.
 * - word_count, char_count, line_count, paragraph_count.
 * - mean_word_length: mean length of non-empty clean words.
 * - hash_to_word_ratio: "#" characters / words; ellipsis_to_word_ratio: ("..." + "…") occurrences /
 *   words; symbol_to_word_ratio: their sum / words (Gopher).
 * - bullet_line_fraction: lines starting with a bullet (• ‣ ⁃ ◦ ● ○ ▪ ■ ► ➢ · - * –);
 *   ellipsis_line_fraction: lines ending in "..." or "…" (Gopher).
 * - alpha_word_fraction: words with at least one letter (\p{L}); stop_word_count: clean words in
 *   {the, be, to, of, and, that, have, with} (Gopher).
 * - duplicate_line_fraction / duplicate_line_char_fraction: lines equal to an earlier line, by count
 *   and by characters over all line characters; the same for paragraphs (Gopher repetition).
 * - top_{2,3,4}gram_char_fraction: characters of the most frequent clean-word n-gram (sum of its
 *   words' lengths × its count) over all clean-word characters; 0 when no n-gram repeats.
 * - duplicate_{5..10}gram_char_fraction: characters of the words covered by a REPEATED occurrence
 *   (second and later) of any clean-word n-gram, each word counted once, over all clean-word
 *   characters (Gopher).
 * - terminal_punctuation_line_fraction: lines ending in . ! ? " or ” (C4, FineWeb line_punct).
 * - short_line_fraction: lines of ≤ 30 characters (FineWeb); few_words_line_fraction: lines of
 *   fewer than 3 words (C4).
 * - has_lorem_ipsum, has_curly_bracket: 0/1 (C4 document rules); javascript_line_fraction,
 *   policy_line_fraction: lines mentioning "javascript" / a cookie or terms/privacy policy (C4).
 * - newline_to_word_ratio: "\n" characters / words (FineWeb); sentence_count: runs of . ! ? that
 *   end the text or precede white space (C4 needs ≥ 3).
 */
import { foldHash32 } from "../minhash/shingles.ts";

const STOP_WORDS = new Set(["the", "be", "to", "of", "and", "that", "have", "with"]);
const BULLETS = new Set(["•", "‣", "⁃", "◦", "●", "○", "▪", "■", "►", "➢", "·", "-", "*", "–"]);
const TERMINAL = new Set([".", "!", "?", '"', "”"]);
const POLICY_PHRASES = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"];
const EDGE_PUNCTUATION = /^\p{P}+|\p{P}+$/gu;
const LETTER = /\p{L}/u;

function ratio(numerator: number, denominator: number): number {
  return denominator === 0 ? 0 : numerator / denominator;
}

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) count++;
  return count;
}

/** Count and characters of items equal to an earlier item. */
function duplicates(items: readonly string[]): { count: number; chars: number; totalChars: number } {
  const seen = new Set<string>();
  let count = 0;
  let chars = 0;
  let totalChars = 0;
  for (const item of items) {
    totalChars += item.length;
    if (seen.has(item)) {
      count++;
      chars += item.length;
    } else seen.add(item);
  }
  return { count, chars, totalChars };
}

/**
 * Rolling n-gram keys: after `extendTo(n)`, (high[start], low[start]) identifies the clean-word
 * n-gram starting at `start` (two independent 32-bit murmur folds; a false match needs both to
 * collide). Going from n − 1 to n costs one fold per position, so n = 2..10 cost 10 folds a word.
 * Counting uses an open-addressing table on typed arrays (number-keyed Maps are several times
 * slower here).
 */
class NgramTable {
  readonly high: Int32Array;
  readonly low: Int32Array;
  private readonly wordIds: Int32Array;
  private n = 0;
  private readonly slotHigh: Int32Array;
  private readonly slotLow: Int32Array;
  private readonly slotCount: Int32Array;
  private readonly mask: number;

  constructor(wordIds: Int32Array) {
    this.wordIds = wordIds;
    this.high = new Int32Array(wordIds.length).fill(0x3c6ef372);
    this.low = new Int32Array(wordIds.length).fill(0x1b873593);
    let capacity = 16;
    while (capacity < wordIds.length * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.slotHigh = new Int32Array(capacity);
    this.slotLow = new Int32Array(capacity);
    this.slotCount = new Int32Array(capacity);
  }

  /** Advances the keys to n-grams and empties the count table. */
  extendTo(n: number): void {
    const ids = this.wordIds;
    for (; this.n < n; this.n++) {
      const offset = this.n;
      for (let start = 0; start + offset < ids.length; start++) {
        const id = ids[start + offset];
        this.high[start] = foldHash32(this.high[start], id);
        this.low[start] = foldHash32(this.low[start], id ^ 0x7f4a7c15);
      }
    }
    this.slotCount.fill(0);
  }

  /** Counts the n-gram at `start` once more and returns its count so far. */
  increment(start: number): number {
    const high = this.high[start];
    const low = this.low[start];
    let slot = (high ^ Math.imul(low, 0x9e3779b1)) & this.mask;
    for (;;) {
      const count = this.slotCount[slot];
      if (count === 0) {
        this.slotHigh[slot] = high;
        this.slotLow[slot] = low;
        this.slotCount[slot] = 1;
        return 1;
      }
      if (this.slotHigh[slot] === high && this.slotLow[slot] === low) {
        this.slotCount[slot] = count + 1;
        return count + 1;
      }
      slot = (slot + 1) & this.mask;
    }
  }
}

function topNgramCharFraction(table: NgramTable, lengths: Int32Array, n: number, totalChars: number): number {
  if (lengths.length < n) return 0;
  table.extendTo(n);
  let bestCount = 0;
  let bestStart = 0;
  for (let start = 0; start + n <= lengths.length; start++) {
    const count = table.increment(start);
    if (count > bestCount) {
      bestCount = count;
      bestStart = start;
    }
  }
  if (bestCount < 2) return 0;
  let chars = 0;
  for (let j = 0; j < n; j++) chars += lengths[bestStart + j];
  return ratio(chars * bestCount, totalChars);
}

function duplicateNgramCharFraction(table: NgramTable, lengths: Int32Array, n: number, totalChars: number): number {
  if (lengths.length < n) return 0;
  table.extendTo(n);
  const covered = new Uint8Array(lengths.length);
  for (let start = 0; start + n <= lengths.length; start++) {
    if (table.increment(start) > 1) covered.fill(1, start, start + n);
  }
  let chars = 0;
  for (let i = 0; i < covered.length; i++) if (covered[i]) chars += lengths[i];
  return ratio(chars, totalChars);
}

/** All heuristic attributes of `text` (definitions in the file header). */
export function qualityAttributes(text: string): Record<string, number> {
  const tokens = text.split(/\s+/u).filter((t) => t.length > 0);
  const wordCount = tokens.length;
  const lines = text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  const lineCount = lines.length;
  const paragraphs = text
    .split(/\n\s*\n/u)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);

  const cleanIds: number[] = [];
  const cleanLengths: number[] = [];
  const idOf = new Map<string, number>();
  let alphaWords = 0;
  let stopWords = 0;
  for (const token of tokens) {
    if (LETTER.test(token)) alphaWords++;
    const clean = token.toLowerCase().replace(EDGE_PUNCTUATION, "");
    if (clean.length === 0) continue;
    if (STOP_WORDS.has(clean)) stopWords++;
    let id = idOf.get(clean);
    if (id === undefined) {
      id = idOf.size;
      idOf.set(clean, id);
    }
    cleanIds.push(id);
    cleanLengths.push(clean.length);
  }
  const wordIds = Int32Array.from(cleanIds);
  const lengths = Int32Array.from(cleanLengths);
  const cleanChars = cleanLengths.reduce((sum, length) => sum + length, 0);

  const hashes = countOccurrences(text, "#");
  const ellipses = countOccurrences(text, "...") + countOccurrences(text, "…");
  const lower = text.toLowerCase();
  const lineDuplicates = duplicates(lines);
  const paragraphDuplicates = duplicates(paragraphs);

  let bulletLines = 0;
  let ellipsisLines = 0;
  let terminalLines = 0;
  let shortLines = 0;
  let fewWordLines = 0;
  let javascriptLines = 0;
  let policyLines = 0;
  for (const line of lines) {
    if (BULLETS.has(line[0])) bulletLines++;
    if (line.endsWith("...") || line.endsWith("…")) ellipsisLines++;
    if (TERMINAL.has(line[line.length - 1])) terminalLines++;
    if (line.length <= 30) shortLines++;
    if (line.split(/\s+/u).length < 3) fewWordLines++;
    const lowerLine = line.toLowerCase();
    if (lowerLine.includes("javascript")) javascriptLines++;
    if (POLICY_PHRASES.some((phrase) => lowerLine.includes(phrase))) policyLines++;
  }

  const attributes: Record<string, number> = {
    word_count: wordCount,
    char_count: text.length,
    line_count: lineCount,
    paragraph_count: paragraphs.length,
    mean_word_length: ratio(cleanChars, cleanIds.length),
    hash_to_word_ratio: ratio(hashes, wordCount),
    ellipsis_to_word_ratio: ratio(ellipses, wordCount),
    symbol_to_word_ratio: ratio(hashes + ellipses, wordCount),
    bullet_line_fraction: ratio(bulletLines, lineCount),
    ellipsis_line_fraction: ratio(ellipsisLines, lineCount),
    alpha_word_fraction: ratio(alphaWords, wordCount),
    stop_word_count: stopWords,
    duplicate_line_fraction: ratio(lineDuplicates.count, lineCount),
    duplicate_line_char_fraction: ratio(lineDuplicates.chars, lineDuplicates.totalChars),
    duplicate_paragraph_fraction: ratio(paragraphDuplicates.count, paragraphs.length),
    duplicate_paragraph_char_fraction: ratio(paragraphDuplicates.chars, paragraphDuplicates.totalChars),
  };
  const keys = new NgramTable(wordIds);
  for (const n of [2, 3, 4]) attributes[`top_${n}gram_char_fraction`] = topNgramCharFraction(keys, lengths, n, cleanChars);
  for (let n = 5; n <= 10; n++) {
    attributes[`duplicate_${n}gram_char_fraction`] = duplicateNgramCharFraction(keys, lengths, n, cleanChars);
  }
  attributes.terminal_punctuation_line_fraction = ratio(terminalLines, lineCount);
  attributes.short_line_fraction = ratio(shortLines, lineCount);
  attributes.few_words_line_fraction = ratio(fewWordLines, lineCount);
  attributes.has_lorem_ipsum = lower.includes("lorem ipsum") ? 1 : 0;
  attributes.has_curly_bracket = text.includes("{") ? 1 : 0;
  attributes.javascript_line_fraction = ratio(javascriptLines, lineCount);
  attributes.policy_line_fraction = ratio(policyLines, lineCount);
  attributes.newline_to_word_ratio = ratio(countOccurrences(text, "\n"), wordCount);
  attributes.sentence_count = (text.match(/[.!?]+(?=\s|$)/gu) ?? []).length;
  return attributes;
}

/** Names of the attributes `qualityAttributes` returns, in order. */
export const QUALITY_ATTRIBUTE_NAMES: readonly string[] = Object.keys(qualityAttributes("a"));
