/**
 * JSON-lines reading, plain or compressed (zstd through zstd-napi's binding, gzip via node:zlib); the
 * writer is in jsonl-writer.ts. Reading cuts raw Buffers after their last newline and hands whole
 * lines to the LineBatcher (jsonl-lines.ts), which decodes, parses and batches them.
 * A byte-range split [start, end) owns every line that STARTS inside it: the reader begins at
 * start - 1 and drops everything through the first newline (unless start is 0), and reads past `end`
 * until the last owned line is complete, so adjacent splits cover every line exactly once (and each
 * invalid UTF-8 sequence is counted by exactly one split). Blank lines are skipped but counted. A
 * line longer than `maxLineBytes` is never assembled: it is dropped as it streams by, keeping only
 * its first bytes for the rejection.
 */
import { splitBytes, isRanged } from "./jsonl-source.ts";
import { LineBatcher, type OverlongLine } from "./jsonl-lines.ts";
import { DEFAULT_MAX_LINE_BYTES, MAX_REJECTED_RAW_CHARS, type InputSplit, type ReadOptions, type RecordBatch } from "./format-types.ts";
import type { FileSystem } from "./filesystem.ts";

export { JsonlWriter } from "./jsonl-writer.ts";

const NEWLINE = 0x0a;
const OVERLONG_HEAD_BYTES = MAX_REJECTED_RAW_CHARS * 4;

/** Reads one JSONL split as batches of parsed rows. */
export async function* readJsonlSplit(split: InputSplit, fs: FileSystem, opts: ReadOptions): AsyncGenerator<RecordBatch> {
  const maxLineBytes = Math.max(1, Math.floor(opts.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES));
  const lines = new LineBatcher(split, opts, maxLineBytes);
  const { from, chunks } = splitBytes(fs, split);
  const ranged = isRanged(split);
  const endLimit = ranged ? split.end : Infinity;
  let pos = from; // offset of the next byte the source yields
  let skipping = ranged && split.start > 0; // through the first newline: the tail of a line the previous range owns
  let overlong: OverlongLine | undefined;
  // Bytes after the last newline seen so far; they contain no newline. Copies: a chunk is valid only
  // until the next is read (jsonl-source.ts). Kept as a list so that a long line arriving in many
  // chunks is joined once, not once per chunk.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let finished = false;
  for await (const chunk of chunks) {
    let rest = chunk;
    while (rest.length > 0 && !finished) {
      if (skipping || overlong) {
        const nl = rest.indexOf(NEWLINE);
        if (overlong) overlong.bytes += nl < 0 ? rest.length : nl;
        if (nl < 0) {
          pos += rest.length;
          break;
        }
        if (overlong) yield* lines.overlong(overlong, true);
        overlong = undefined;
        skipping = false;
        pos += nl + 1;
        rest = rest.subarray(nl + 1);
        finished = pos >= endLimit; // the next line starts past the range
        continue;
      }
      const nl = rest.indexOf(NEWLINE);
      if (carryBytes + (nl < 0 ? rest.length : nl) > maxLineBytes) {
        const head = Buffer.concat([...carry, rest.subarray(0, OVERLONG_HEAD_BYTES)]).subarray(0, OVERLONG_HEAD_BYTES);
        overlong = { offset: pos - carryBytes, head, bytes: carryBytes };
        carry = [];
        carryBytes = 0;
        continue;
      }
      if (nl < 0) {
        carry.push(Buffer.from(rest));
        carryBytes += rest.length;
        pos += rest.length;
        break;
      }
      // A carried line is completed with this chunk's bytes through its newline: one line copied, not
      // the chunk; the rest of the chunk is then read where it lies.
      const take = carry.length ? nl + 1 : rest.length;
      const buf = carry.length ? Buffer.concat([...carry, rest.subarray(0, take)]) : rest;
      const bufOffset = pos - carryBytes;
      let regionEnd = buf.lastIndexOf(NEWLINE) + 1;
      // The newline at or after byte end-1 ends the last line this split owns.
      const lastOwned = endLimit - 1 - bufOffset;
      if (lastOwned < buf.length) {
        const cut = buf.indexOf(NEWLINE, Math.max(0, lastOwned));
        if (cut >= 0) {
          regionEnd = cut + 1;
          finished = true;
        }
      }
      yield* lines.region(buf.subarray(0, regionEnd), bufOffset, false);
      carry = regionEnd < buf.length ? [Buffer.from(buf.subarray(regionEnd))] : [];
      carryBytes = buf.length - regionEnd;
      pos = bufOffset + buf.length;
      if (take === rest.length) break;
      rest = rest.subarray(take);
    }
    if (finished) break;
  }
  if (!finished) {
    if (overlong) {
      yield* lines.overlong(overlong, false);
    } else if (carryBytes > 0 && pos - carryBytes < endLimit) {
      // An unterminated last line at end of file.
      yield* lines.region(Buffer.concat(carry), pos - carryBytes, true);
    }
  }
  if (lines.hasContent) yield await lines.take();
}
