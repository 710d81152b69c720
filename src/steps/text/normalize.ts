/**
 * Text normalization shared by the data steps: decoding bytes as UTF-8 while counting the invalid
 * sequences replaced by U+FFFD, normalizing a document (line endings to `\n`, Unicode NFC,
 * whitespace runs capped at 128 characters, blank documents dropped) with a counter for each change,
 * and the document id (xxh3-128 of the normalized text). Everything here is a pure function over
 * its arguments; the counters object is the only thing written to.
 *
 * Why NFC and not NFKC: NFC only merges canonically equivalent spellings (a precomposed "é" and "e"
 * plus a combining acute look and mean the same), so two copies of a text that differ only in how
 * an editor stored accents get one id and are caught by exact dedup. NFKC would also fold
 * compatibility characters (ligatures, superscripts, full-width forms, "ℌ" to "H"), which changes
 * what the text says; that choice belongs to a tokenizer or a quality filter, not to ingestion.
 */
import { xxh3 } from "../../util/xxhash.ts";
import { INVALID_UTF8_COUNTER } from "../../io/utf8.ts";

/** Where normalization reports what it changed; a step passes `ctx.counters`. */
export interface CounterSink {
  increment(name: string, by?: number): void;
}

/** The counter names written by this module. */
export const TEXT_COUNTERS = {
  whitespaceRunsCapped: "whitespace_runs_capped",
  emptyDropped: "empty_dropped",
  invalidUtf8Replaced: INVALID_UTF8_COUNTER,
} as const;

/** Longest whitespace run kept; longer runs are cut to this many characters. */
export const MAX_WHITESPACE_RUN = 128;

/**
 * Decodes bytes as UTF-8 with a count of the invalid sequences replaced by U+FFFD (and adds it to
 * `invalid_utf8_replaced` when given counters). It lives with the file readers in src/io.
 */
export { decodeUtf8Counting } from "../../io/utf8.ts";

// JavaScript's \s covers ASCII whitespace, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000 and U+FEFF. For deciding that a document is blank, the zero-width characters that
// render as nothing (U+180E, U+200B-U+200D, U+2060) count as blank too.
const LONG_WHITESPACE_RUN = new RegExp(`\\s{${MAX_WHITESPACE_RUN + 1},}`, "g");
const BLANK_DOCUMENT = /^[\s\u180e\u200b-\u200d\u2060]*$/;
// Text made only of characters below U+0300 has no combining marks (they start at U+0300), no
// Hangul jamo and no canonical singletons, so NFC leaves it as it is: skip the ICU call.
const MAY_CHANGE_UNDER_NFC = /[^\u0000-\u02ff]/;

/** Whether `c` is a character JavaScript's `\s` matches. */
function isWhitespaceUnit(c: number): boolean {
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return c === 160 || c === 5760 || (c >= 8192 && c <= 8202) || c === 8232 || c === 8233 || c === 8239 || c === 8287 || c === 12288 || c === 65279;
}

/**
 * Whether `text` holds a whitespace run longer than `max`. Such a run (at least max + 1 characters)
 * covers one of every max + 1 positions, so only those are probed, and a probe that lands on
 * whitespace measures its run: a document is read at about one character in max + 1, where the
 * regular expression reads every character.
 */
export function hasWhitespaceRunOver(text: string, max: number): boolean {
  const n = text.length;
  for (let q = max; q < n; q += max + 1) {
    if (!isWhitespaceUnit(text.charCodeAt(q))) continue;
    let start = q;
    while (start > 0 && isWhitespaceUnit(text.charCodeAt(start - 1))) start--;
    let end = q + 1;
    while (end < n && isWhitespaceUnit(text.charCodeAt(end))) end++;
    if (end - start > max) return true;
  }
  return false;
}

/**
 * Normalizes one document, or returns `null` when it is empty or blank (counted as `empty_dropped`).
 * In order: line endings (`\r\n` and lone `\r`) become `\n`; Unicode NFC; every whitespace run
 * longer than 128 characters keeps its first 128 (each such run counted once as
 * `whitespace_runs_capped`). Nothing else changes: no trimming, no case or quote folding.
 */
export function normalizeText(text: string, counters?: CounterSink): string | null {
  let out = text.includes("\r") ? text.replace(/\r\n?/g, "\n") : text;
  if (MAY_CHANGE_UNDER_NFC.test(out)) out = out.normalize("NFC");
  let capped = 0;
  if (hasWhitespaceRunOver(out, MAX_WHITESPACE_RUN)) {
    out = out.replace(LONG_WHITESPACE_RUN, (run) => {
      capped++;
      return run.slice(0, MAX_WHITESPACE_RUN);
    });
  }
  if (capped > 0) counters?.increment(TEXT_COUNTERS.whitespaceRunsCapped, capped);
  if (BLANK_DOCUMENT.test(out)) {
    counters?.increment(TEXT_COUNTERS.emptyDropped);
    return null;
  }
  return out;
}

/** The id of a document: xxh3-128 of its UTF-8 bytes as 32 lowercase hex digits. Pass normalized text. */
export function documentId(text: string): string {
  // A string argument is hashed as its UTF-8 bytes without a Buffer on the JavaScript heap.
  return xxh3.xxh128(text).toString(16).padStart(32, "0");
}
