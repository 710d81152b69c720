/**
 * Turning complete JSONL lines into batches: each region of whole lines is decoded in pieces of
 * about 64 KiB cut at newlines (much faster than decoding megabyte strings, measured 2-3x), valid
 * UTF-8 with Node's fast decoder and invalid UTF-8 with the counting one (replacements attributed
 * to the batch holding each line); each line is parsed once. A line that is not a record is
 * rejected with a reason code: thrown as MalformedRecordError, or handed to the reject sink and
 * counted. Byte offsets come from the bytes (never from decoded text, whose length differs from
 * the bytes where U+FFFD replaced invalid input), found lazily, only for rejected lines and batch
 * cuts.
 */
import {
  MalformedRecordError,
  MAX_REJECTED_RAW_CHARS,
  type InputSplit,
  type ReadOptions,
  type RecordBatch,
  type RejectedLine,
  type RejectReason,
  type RejectSink,
} from "./format-types.ts";
import { reservedKeyIn } from "./reserved-keys.ts";
import { decodeReplacing, decodeValidUtf8, isValidUtf8, replacementsPerLine } from "./utf8.ts";

const NEWLINE = 0x0a;
/**
 * A batch is cut at this many characters of lines, however few rows (8 Mi before): its rows, and the
 * rows a step makes of them, are used and dropped before they outlive young-generation collections,
 * instead of being copied and promoted with the rest of a large batch. The sampling heap profiler
 * on normalize (150 MB, one thread) counted 748 MB of allocations that outlived a young collection
 * before and 504 MB after, the JSONL reader's share falling from 147 to 20 MB.
 */
const MAX_BATCH_CHARS = 256 << 10;
const DECODE_PIECE = 64 << 10;
const BOM = 0xfeff;

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/**
 * Where a line is, for error messages. Splits that start at byte 0 count lines from the top of the
 * file; other byte-range splits name the byte offset where the line starts (exact and cheap) plus
 * the line number within the split.
 */
function describeLine(split: InputSplit, line: number, offset: number): string {
  const compressed = split.format !== "jsonl";
  if (split.start === 0) return `line ${line} (${compressed ? "decompressed " : ""}byte ${offset})`;
  return `line starting at byte ${offset} (line ${line} of the byte range [${split.start}, ${split.end}))`;
}

function whatIs(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Start offsets of the lines of one piece, found forward only, on demand. */
class LineStarts {
  private line = 0;
  /** Characters of the lines in the batch: a batch is cut at MAX_BATCH_CHARS, however few rows. */
  private chars = 0;
  private byte = 0;
  private previous = 0;

  constructor(private readonly piece: Buffer) {}

  /**
   * Offset in the piece where its line `k` (0-based) starts, or the piece's length past its last
   * line. `k` may go back by one from the furthest line asked for, no further.
   */
  of(k: number): number {
    if (k === this.line - 1) return this.previous;
    while (this.line < k) {
      this.previous = this.byte;
      const nl = this.piece.indexOf(NEWLINE, this.byte);
      this.byte = nl < 0 ? this.piece.length : nl + 1;
      this.line++;
    }
    return this.byte;
  }
}

/**
 * Where line `k` of a piece is in its bytes, without its terminator (\n or \r\n) and byte order
 * mark: needed only for rejected lines, so found only then.
 */
function lineSpan(starts: LineStarts, k: number, terminated: boolean, crStripped: boolean, bomBytes: number): { start: number; bytes: number } {
  const end = starts.of(k + 1) - (terminated ? 1 : 0) - (crStripped ? 1 : 0);
  const start = starts.of(k) + bomBytes;
  return { start, bytes: end - start };
}

interface Problem {
  reason: RejectReason;
  message: string;
}

/** A line longer than the limit, dropped while it is read; `head` keeps its first bytes for `raw`. */
export interface OverlongLine {
  offset: number;
  head: Buffer;
  bytes: number;
}

/** Where the parse of one decoded piece of a split stands. */
interface PieceCursor {
  readonly text: string;
  /** Byte offset of the piece in the (decompressed) split. */
  readonly offset: number;
  readonly lastPiece: boolean;
  /** Replacement characters per line when the piece was not valid UTF-8. */
  readonly replaced: number[] | undefined;
  readonly starts: LineStarts;
  /** Character position of the next line, its index in the piece, and bytes already counted. */
  pos: number;
  k: number;
  countedBytes: number;
}

/** The batch being filled while one split is read, and the line count. */
export class LineBatcher {
  private rows: unknown[] = [];
  /** Each row's line, kept once a gap (a blank or rejected line) separates two rows of the batch. */
  private lines: number[] | undefined;
  private firstLine = 0;
  private bytes = 0;
  private rejected = 0;
  private invalidUtf8 = 0;
  private line = 0;
  /** Characters of the lines in the batch: a batch is cut at MAX_BATCH_CHARS, however few rows. */
  private chars = 0;
  // Reject sinks may be async; their promises are awaited once per batch, not once per line.
  private pending: Promise<void>[] = [];
  private readonly batchRows: number;
  private readonly sink: RejectSink | undefined;
  private readonly requireObjects: boolean;

  constructor(
    private readonly split: InputSplit,
    opts: ReadOptions,
    private readonly maxLineBytes: number,
  ) {
    this.batchRows = Math.max(1, opts.batchRows ?? 4096);
    this.sink = opts.rejects;
    this.requireObjects = opts.requireObjects === true;
  }

  /** Whether anything (rows, rejected lines, consumed bytes) waits to be yielded. */
  get hasContent(): boolean {
    return this.rows.length > 0 || this.rejected > 0 || this.bytes > 0;
  }

  async take(): Promise<RecordBatch> {
    await Promise.all(this.pending.splice(0));
    const batch: RecordBatch = { rows: this.rows, firstLine: this.firstLine, bytes: this.bytes, rejected: this.rejected, invalidUtf8: this.invalidUtf8 };
    if (this.lines) batch.lines = this.lines;
    this.rows = [];
    this.lines = undefined;
    this.bytes = this.rejected = this.invalidUtf8 = this.chars = 0;
    return batch;
  }

  private reject(reason: RejectReason, message: string, raw: string, rawBytes: number, offset: number): void {
    const rejected: RejectedLine = {
      path: this.split.path,
      line: this.line,
      byteOffset: offset,
      reason,
      message,
      raw: raw.length > MAX_REJECTED_RAW_CHARS ? raw.slice(0, MAX_REJECTED_RAW_CHARS) : raw,
      rawBytes,
    };
    if (!this.sink) throw new MalformedRecordError(rejected, describeLine(this.split, this.line, offset));
    const pending = this.sink.reject(rejected);
    if (pending) this.pending.push(pending);
    if (this.rows.length === 0 && this.rejected === 0) this.firstLine = this.line;
    this.rejected++;
  }

  private tooLong(bytes: number): string {
    return `the line is ${bytes} bytes long, over the limit of ${this.maxLineBytes} bytes for one record (is this file JSON lines?)`;
  }

  /** A line over the limit, read and dropped; `terminated` when a newline ended it. */
  async *overlong(line: OverlongLine, terminated: boolean): AsyncGenerator<RecordBatch> {
    this.line++;
    const raw = decodeReplacing(line.head.subarray(0, MAX_REJECTED_RAW_CHARS * 4));
    this.reject("line-too-long", this.tooLong(line.bytes), raw, line.bytes, line.offset);
    this.bytes += line.bytes + (terminated ? 1 : 0);
    if (this.full) yield await this.take();
  }

  /** Whether the batch is full (yield `take()` when it is). */
  get full(): boolean {
    return this.rows.length + this.rejected >= this.batchRows || this.chars >= MAX_BATCH_CHARS;
  }

  /**
   * Parses the lines of `region` (whole lines, each ended by a newline except, at end of file, the
   * last), which starts at byte `offset` of the (decompressed) split, yielding full batches.
   */
  async *region(region: Buffer, offset: number, atEndOfFile: boolean): AsyncGenerator<RecordBatch> {
    for (let from = 0; from < region.length; ) {
      let to = region.length;
      if (to - from > DECODE_PIECE) {
        const nl = region.lastIndexOf(NEWLINE, from + DECODE_PIECE - 1);
        to = nl >= from ? nl + 1 : region.indexOf(NEWLINE, from + DECODE_PIECE) + 1 || region.length;
      }
      yield* this.piece(region.subarray(from, to), offset + from, atEndOfFile && to === region.length);
      from = to;
    }
  }

  private async *piece(piece: Buffer, offset: number, lastPiece: boolean): AsyncGenerator<RecordBatch> {
    const valid = isValidUtf8(piece);
    const text = valid ? decodeValidUtf8(piece) : decodeReplacing(piece);
    const at: PieceCursor = {
      text,
      offset,
      lastPiece,
      replaced: valid ? undefined : replacementsPerLine(piece),
      starts: new LineStarts(piece),
      pos: 0,
      k: 0,
      countedBytes: 0,
    };
    while (this.fill(at)) yield await this.take();
    this.bytes += piece.length - at.countedBytes;
  }

  /**
   * Parses the piece's lines from `at` on into the batch until the batch is full (true: take it, then
   * call again) or the piece ends (false). Synchronous, so that the per-line loop is optimised once
   * and the generator only waits.
   */
  private fill(at: PieceCursor): boolean {
    const { text, starts, replaced } = at;
    while (at.pos < text.length) {
      const pos = at.pos;
      const k = at.k;
      let nl = text.indexOf("\n", pos);
      const terminated = nl >= 0;
      if (!terminated) nl = text.length;
      this.line++;
      let bomBytes = 0;
      let from = pos;
      if (this.line === 1 && this.split.start === 0 && text.charCodeAt(from) === BOM) {
        from++; // a UTF-8 byte order mark: a mark, not text
        bomBytes = 3;
      }
      let lineEnd = nl;
      if (lineEnd > from && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
      if (replaced) this.invalidUtf8 += replaced[k];
      if (!isBlank(text, from, lineEnd)) {
        const body = text.slice(from, lineEnd);
        let span: { start: number; bytes: number } | undefined;
        let problem: Problem | undefined;
        if ((lineEnd - from) * 3 > this.maxLineBytes) {
          span = lineSpan(starts, k, terminated, lineEnd < nl, bomBytes);
          if (span.bytes > this.maxLineBytes) problem = { reason: "line-too-long", message: this.tooLong(span.bytes) };
        }
        problem ??= this.parse(body, at.lastPiece && !terminated);
        if (problem) {
          span ??= lineSpan(starts, k, terminated, lineEnd < nl, bomBytes);
          this.reject(problem.reason, problem.message, body, span.bytes, at.offset + span.start);
        }
      }
      this.chars += nl + 1 - from;
      at.pos = nl + 1;
      at.k = k + 1;
      if (this.full) {
        const cut = starts.of(at.k);
        this.bytes += cut - at.countedBytes;
        at.countedBytes = cut;
        return true;
      }
    }
    return false;
  }

  /** Parses one line into the batch; a line that is not a record comes back as the problem. */
  private parse(body: string, unterminatedAtEnd: boolean): Problem | undefined {
    let value: unknown;
    try {
      value = JSON.parse(body);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return unterminatedAtEnd
        ? { reason: "truncated-line", message: `the file ends inside this line, which is not valid JSON (${why}): the file may have been cut short` }
        : { reason: "malformed-json", message: `not valid JSON (${why})` };
    }
    if (this.requireObjects && (value === null || typeof value !== "object" || Array.isArray(value))) {
      return { reason: "not-an-object", message: `a record must be a JSON object, got ${whatIs(value)}` };
    }
    const reserved = reservedKeyIn(value, body);
    if (reserved !== undefined) {
      return {
        reason: "reserved-field",
        message: `field '${reserved}': a field named __proto__ cannot be carried as data (on a JavaScript object it sets the prototype); rename the field in the input, or read with onBadRecord "skip" or "quarantine" to set such records aside`,
      };
    }
    const n = this.rows.length;
    if (n === 0) this.firstLine = this.line;
    else if (this.lines) this.lines.push(this.line);
    else if (this.line !== this.firstLine + n) this.lines = [...Array.from({ length: n }, (_, i) => this.firstLine + i), this.line];
    this.rows.push(value);
    return undefined;
  }
}
