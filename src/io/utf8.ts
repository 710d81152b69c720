/**
 * UTF-8 decoding that counts what it repairs: every invalid sequence becomes U+FFFD the way the
 * WHATWG decoder does it (one U+FFFD per maximal invalid subpart), and the number of such
 * replacements is returned so that readers can report it instead of repairing data silently. Valid
 * input (checked natively first, at several GB/s) takes Node's fast decoder; only invalid input pays
 * for the counting. A U+FFFD that was validly encoded in the input (bytes EF BF BD) is kept and not
 * counted. A byte order mark is decoded as U+FEFF, never dropped here: the JSONL reader drops it at
 * the start of a file, where it is a mark and not text.
 */
import { isAscii, isUtf8 } from "node:buffer";

/** The counter a step increments with the number of replacements (`invalid_utf8_replaced`). */
export const INVALID_UTF8_COUNTER = "invalid_utf8_replaced";

/** Anything that counts by name (a step's `ctx.counters`). */
export interface Utf8CounterSink {
  increment(name: string, by?: number): void;
}

const REPLACEMENT = "\ufffd";
const replacingDecoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * How many U+FFFD in `text` (decoded from `bytes`) stand for invalid input. EF can never be a
 * continuation byte, so every EF BF BD in the input starts a valid sequence that decodes to a U+FFFD
 * of its own; the other U+FFFDs are replacements.
 */
export function replacementsIn(text: string, bytes: Uint8Array): number {
  let inText = 0;
  for (let i = text.indexOf(REPLACEMENT); i >= 0; i = text.indexOf(REPLACEMENT, i + 1)) inText++;
  if (inText === 0) return 0;
  let encoded = 0;
  for (let i = 0; i + 2 < bytes.length; i++) {
    if (bytes[i] === 0xef && bytes[i + 1] === 0xbf && bytes[i + 2] === 0xbd) encoded++;
  }
  return inText - encoded;
}

/** Decodes `bytes` only when they are not valid UTF-8 (the slow path of `decodeUtf8Counting`). */
function decodeInvalid(bytes: Uint8Array): { text: string; replaced: number } {
  const text = replacingDecoder.decode(bytes);
  return { text, replaced: replacementsIn(text, bytes) };
}

/**
 * Decodes bytes as UTF-8, replacing each invalid sequence with U+FFFD, and returns how many were
 * replaced; with `counters`, also adds that number to `invalid_utf8_replaced`. Splitting the input
 * at newline bytes never changes the count: no invalid sequence spans a newline (0x0A is ASCII).
 */
export function decodeUtf8Counting(bytes: Uint8Array, counters?: Utf8CounterSink): { text: string; replaced: number } {
  if (isUtf8(bytes)) return { text: decodeValidUtf8(bytes), replaced: 0 };
  const decoded = decodeInvalid(bytes);
  if (decoded.replaced > 0) counters?.increment(INVALID_UTF8_COUNTER, decoded.replaced);
  return decoded;
}

/**
 * Replacements per line of `bytes` (lines cut at 0x0A), for input known to be invalid somewhere: the
 * reader attributes them to the batch that holds each line.
 */
export function replacementsPerLine(bytes: Uint8Array): number[] {
  const buf = asBuffer(bytes);
  const counts: number[] = [];
  for (let from = 0; from <= buf.length; ) {
    let nl = buf.indexOf(0x0a, from);
    if (nl < 0) nl = buf.length;
    const line = buf.subarray(from, nl);
    counts.push(isUtf8(line) ? 0 : decodeInvalid(line).replaced);
    from = nl + 1;
  }
  return counts;
}

/** True when `bytes` are valid UTF-8 and need no repair (checked natively, several GB/s). */
export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/**
 * Bytes of valid UTF-8 decoded at a time by `decodeValidUtf8`. V8 copies an all-ASCII run into a
 * string at memory speed, but decodes everything after a string's first non-ASCII byte one byte at a
 * time, so text with a few accented letters decoded whole ran at about 1.6 GB/s; in 4 KiB chunks
 * only the chunks that hold them are slow (2.4–2.7 GB/s on the shuffle benchmark's JSONL, where 1 in
 * 12 chunks of the non-ASCII pieces held a non-ASCII byte).
 */
const DECODE_CHUNK = 4096;

/** Decodes bytes known to be valid UTF-8 (`isValidUtf8`): at once where all ASCII, else chunk by chunk, each cut before a character's first byte. */
export function decodeValidUtf8(bytes: Uint8Array): string {
  const buf = asBuffer(bytes);
  if (buf.length <= DECODE_CHUNK || isAscii(buf)) return buf.toString("utf8");
  let text = "";
  for (let from = 0; from < buf.length; ) {
    let to = Math.min(buf.length, from + DECODE_CHUNK);
    while (to < buf.length && (buf[to] & 0xc0) === 0x80) to--; // a continuation byte: back to its character's first byte
    text += buf.toString("utf8", from, to);
    from = to;
  }
  return text;
}

/** Decodes possibly invalid bytes with the WHATWG replacing decoder; count with `replacementsIn`. */
export function decodeReplacing(bytes: Uint8Array): string {
  return replacingDecoder.decode(bytes);
}
