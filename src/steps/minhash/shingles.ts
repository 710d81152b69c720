/**
 * Word tokenisation and word n-gram shingle hashing for MinHash, on typed arrays.
 *
 * The word rule (documented, and the same everywhere kiln computes shingles), with the default
 * text normalisation: the text is lowercased with `String.prototype.toLowerCase`; words are maximal
 * runs of characters between Unicode white space (JS `\s`: White_Space plus U+FEFF); Unicode
 * punctuation characters (General_Category P*, e.g. `. , ' " - ( ) ! ? … « »`) are deleted from
 * inside words WITHOUT splitting them (`don't` → `dont`, `end.` → `end`, `e-mail` → `email`); a token
 * made only of punctuation disappears. Symbols (S*: `$ + < = > ^ | ~`, currency, emoji) and digits
 * are kept. `ShingleNormalization` turns each of these on or off and adds two more, applied before
 * the words are split: `digits` maps every decimal digit (Nd) to 0, `accents` decomposes (NFD),
 * drops combining marks (M*) and recomposes (NFC), so `café` and `cafe` are one word.
 *
 * Each word is hashed to 32 bits (FNV-1a over UTF-16 code units, then the murmur3 finaliser);
 * a shingle of n consecutive words is hashed by folding its word hashes through the murmur3
 * block mix (no substring is ever built). A document with fewer than n words (but at least one)
 * yields one shingle made of all its words; an empty document yields no shingles.
 */
import { MinHashConfigError } from "./errors.ts";

const CLASS_WORD = 0;
const CLASS_SEPARATOR = 1;
const CLASS_PUNCTUATION = 2;

/** Class of every UTF-16 code unit, filled lazily for non-ASCII (255 = not yet classified). */
const codeUnitClass = new Uint8Array(65536).fill(255);
const WHITE_SPACE = /\s/u;
const PUNCTUATION = /\p{P}/u;

function classifyCodeUnit(codeUnit: number): number {
  const known = codeUnitClass[codeUnit];
  if (known !== 255) return known;
  const char = String.fromCharCode(codeUnit);
  let cls = CLASS_WORD;
  // Surrogate halves are word characters: astral letters and emoji stay inside their word.
  if (codeUnit < 0xd800 || codeUnit > 0xdfff) {
    if (WHITE_SPACE.test(char)) cls = CLASS_SEPARATOR;
    else if (PUNCTUATION.test(char)) cls = CLASS_PUNCTUATION;
  }
  codeUnitClass[codeUnit] = cls;
  return cls;
}

/** Text normalisation before shingling; the defaults are the word rule above. */
export interface ShingleNormalization {
  /** Lower-case the text (default true). */
  lowercase?: boolean;
  /** Delete punctuation (P*) inside words (default true); false keeps it as part of the word. */
  punctuation?: boolean;
  /** Map every decimal digit to 0 (default false): "page 12" and "page 13" become one shingle. */
  digits?: boolean;
  /** Remove accents (default false): NFD, combining marks dropped, NFC. */
  accents?: boolean;
}

export type ResolvedNormalization = Required<ShingleNormalization>;

export const DEFAULT_NORMALIZATION: ResolvedNormalization = Object.freeze({ lowercase: true, punctuation: true, digits: false, accents: false });

/** The normalisation with defaults filled in; unknown keys or non-boolean values are refused. */
export function resolveNormalization(options: ShingleNormalization | undefined): ResolvedNormalization {
  const resolved = { ...DEFAULT_NORMALIZATION, ...(options ?? {}) };
  for (const [key, value] of Object.entries(resolved)) {
    if (!(key in DEFAULT_NORMALIZATION) || typeof value !== "boolean") {
      throw new MinHashConfigError(
        `text normalisation option '${key}' is ${JSON.stringify(value)}`,
        `use booleans for ${Object.keys(DEFAULT_NORMALIZATION).join(", ")}`,
      );
    }
  }
  return resolved;
}

const DIGIT = /\p{Nd}/gu;
const COMBINING_MARK = /\p{M}+/gu;

/** The text as the shingler sees it before splitting: accents and digits folded, lower-cased, per `n`. */
export function prepareText(text: string, n: ResolvedNormalization): string {
  let out = text;
  if (n.accents) out = out.normalize("NFD").replace(COMBINING_MARK, "").normalize("NFC");
  if (n.digits) out = out.replace(DIGIT, "0");
  return n.lowercase ? out.toLowerCase() : out;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3 32-bit finaliser: spreads every input bit over the output. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** One murmur3 block step: folds a 32-bit value into a running hash. */
export function foldHash32(hash: number, value: number): number {
  let k = Math.imul(value, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let h = hash ^ k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Splits text into words by the rule in the file header (returns the words as strings). */
export function tokenizeWords(text: string, normalization?: ShingleNormalization): string[] {
  const n = resolveNormalization(normalization);
  const lower = prepareText(text, n);
  const punctuationClass = n.punctuation ? CLASS_PUNCTUATION : CLASS_WORD;
  const words: string[] = [];
  let current = "";
  let inWord = false;
  for (let i = 0; i < lower.length; i++) {
    const codeUnit = lower.charCodeAt(i);
    const found = classifyCodeUnit(codeUnit);
    const cls = found === CLASS_PUNCTUATION ? punctuationClass : found;
    if (cls === CLASS_WORD) {
      current += lower[i];
      inWord = true;
    } else if (cls === CLASS_SEPARATOR && inWord) {
      words.push(current);
      current = "";
      inWord = false;
    }
  }
  if (inWord) words.push(current);
  return words;
}

/** The 32-bit hash of one already-tokenised (lowercased, punctuation-free) word. */
export function hashWord(word: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), FNV_PRIME);
  return mix32(h);
}

/**
 * Reusable shingler: holds scratch buffers so hashing many documents allocates almost nothing.
 * Not safe to share between concurrently running code paths (one per worker is the intent).
 */
export class Shingler {
  readonly ngram: number;
  readonly normalization: ResolvedNormalization;
  private readonly punctuationClass: number;
  private wordBuffer: Uint32Array = new Uint32Array(1024);
  private shingleBuffer: Uint32Array = new Uint32Array(1024);

  constructor(ngram: number, normalization?: ShingleNormalization) {
    this.ngram = ngram;
    this.normalization = resolveNormalization(normalization);
    this.punctuationClass = this.normalization.punctuation ? CLASS_PUNCTUATION : CLASS_WORD;
  }

  /** Word hashes of `text`, in order; the view is valid until the next call. */
  wordHashes(text: string): Uint32Array {
    const lower = prepareText(text, this.normalization);
    const punctuationClass = this.punctuationClass;
    let buffer = this.wordBuffer;
    let count = 0;
    let h = FNV_OFFSET;
    let inWord = false;
    for (let i = 0; i < lower.length; i++) {
      const codeUnit = lower.charCodeAt(i);
      const found = codeUnit < 128 ? codeUnitClass[codeUnit] : classifyCodeUnit(codeUnit);
      const cls = found === CLASS_PUNCTUATION ? punctuationClass : found;
      if (cls === CLASS_WORD) {
        h = Math.imul(h ^ codeUnit, FNV_PRIME);
        inWord = true;
      } else if (cls === CLASS_SEPARATOR && inWord) {
        if (count === buffer.length) buffer = this.growWords(count);
        buffer[count++] = mix32(h);
        h = FNV_OFFSET;
        inWord = false;
      }
    }
    if (inWord) {
      if (count === buffer.length) buffer = this.growWords(count);
      buffer[count++] = mix32(h);
    }
    return buffer.subarray(0, count);
  }

  /**
   * Shingle hashes of `text` in text order, repeats included (what a signature needs: a set given
   * with repeats and in any order); the view is valid until the next call.
   */
  shingleSequence(text: string): Uint32Array {
    const words = this.wordHashes(text);
    const n = this.ngram;
    const shingleCount = words.length === 0 ? 0 : Math.max(1, words.length - n + 1);
    if (this.shingleBuffer.length < shingleCount) {
      this.shingleBuffer = new Uint32Array(Math.max(shingleCount, this.shingleBuffer.length * 2));
    }
    const out = this.shingleBuffer;
    const width = Math.min(n, words.length);
    for (let start = 0; start < shingleCount; start++) {
      let h = 0x9747b28c;
      for (let j = 0; j < width; j++) h = foldHash32(h, words[start + j]);
      out[start] = mix32(h ^ width);
    }
    return out.subarray(0, shingleCount);
  }

  /**
   * Distinct shingle hashes of `text`, sorted ascending; the view is valid until the next call
   * (copy it with `.slice()` to keep it).
   */
  shingleHashes(text: string): Uint32Array {
    const sorted = this.shingleSequence(text).sort();
    const shingleCount = sorted.length;
    let unique = 0;
    for (let i = 0; i < shingleCount; i++) {
      if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i];
    }
    return sorted.subarray(0, unique);
  }

  private growWords(count: number): Uint32Array {
    const bigger = new Uint32Array(count * 2);
    bigger.set(this.wordBuffer.subarray(0, count));
    this.wordBuffer = bigger;
    return bigger;
  }
}

// Pre-classify ASCII so the hot loop can read the table directly.
for (let c = 0; c < 128; c++) classifyCodeUnit(c);
