/**
 * JSON-lines reading and writing, plain or compressed (zstd via zstd-napi streams, gzip via
 * node:zlib). Reading cuts raw Buffers after their last newline, decodes each piece to text once and
 * runs JSON.parse once per line, in batches.
 * A byte-range split [start, end) owns every line that STARTS inside it: the reader begins at
 * start - 1 and drops everything through the first newline (unless start is 0), and reads past `end`
 * until the last owned line is complete, so adjacent splits cover every line exactly once. Blank lines
 * are skipped but counted. Writing streams to a temporary file that is committed on close.
 */
import { createWriteStream, mkdirSync } from "node:fs";
import * as fsp from "node:fs/promises";
import * as os from "node:os";
import * as nodePath from "node:path";
import { randomBytes } from "node:crypto";
import { Readable, type Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createGunzip } from "node:zlib";
import { CompressStream, DecompressStream } from "zstd-napi";
import { KilnError } from "../errors.ts";
import { StorageError, type FileSystem } from "./filesystem.ts";
import { tempSibling } from "./local.ts";
import {
  CorruptFileError,
  MalformedRecordError,
  UnwritableRowError,
  type InputSplit,
  type ReadOptions,
  type RecordBatch,
  type RecordWriter,
  type WriteResult,
} from "./format-types.ts";

const NEWLINE = 0x0a;
const MAX_BATCH_BYTES = 8 << 20;
const READ_CHUNK = 8 << 20;
const DECODE_PIECE = 64 << 10;

function storageFailure(err: unknown, path: string): Error {
  if (err instanceof KilnError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError(`reading ${path} failed: ${detail}`, "check that the file exists and is readable", { cause: err });
}

/**
 * Bytes [start, end) of a file of `size` bytes, streamed where the backend can, else read in ranges.
 * A whole file is streamed without a range, so that backends verify its checksum.
 */
function openRange(fs: FileSystem, path: string, start: number, end: number, size: number): Readable {
  if (fs.readStream) return start === 0 && end >= size ? fs.readStream(path) : fs.readStream(path, { start, end });
  return Readable.from(
    (async function* () {
      for (let pos = start; pos < end; ) {
        const chunk = await fs.readRange(path, pos, Math.min(READ_CHUNK, end - pos));
        if (chunk.length === 0) return;
        yield chunk;
        pos += chunk.length;
      }
    })(),
  );
}

async function* streamChunks(stream: Readable, path: string): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw storageFailure(err, path);
  } finally {
    stream.destroy();
  }
}

/** Decompressed bytes of a whole .zst/.gz file; decoder failures become CorruptFileError. */
async function* decompressedChunks(fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  const source = openRange(fs, split.path, 0, split.size, split.size);
  const decoder = split.format === "jsonl.zst" ? new DecompressStream() : createGunzip();
  let sourceError: unknown;
  source.on("error", (err) => {
    sourceError = err;
    decoder.destroy(err);
  });
  source.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (err) {
    if (sourceError !== undefined) throw storageFailure(sourceError, split.path);
    const kind = split.format === "jsonl.zst" ? "zstd" : "gzip";
    throw new CorruptFileError(split.path, `${kind} stream: ${(err as Error).message}`, { cause: err });
  } finally {
    source.destroy();
    decoder.destroy();
  }
}

/** The bytes a plain split needs: [start-1 or 0, end), then more in growing ranges to finish the last line. */
async function* plainSplitChunks(fs: FileSystem, split: InputSplit): AsyncGenerator<Buffer> {
  const from = split.start > 0 ? split.start - 1 : 0;
  yield* streamChunks(openRange(fs, split.path, from, split.end, split.size), split.path);
  let pos = split.end;
  let want = 64 << 10;
  while (pos < split.size) {
    let chunk: Buffer;
    try {
      chunk = await fs.readRange(split.path, pos, want);
    } catch (err) {
      throw storageFailure(err, split.path);
    }
    if (chunk.length === 0) return;
    yield chunk;
    pos += chunk.length;
    want = Math.min(want * 2, 4 << 20);
  }
}

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

/**
 * Reads one JSONL split as batches of parsed rows. Each chunk is cut after its last complete line
 * (for a byte range: after the newline that ends the last line starting before `end`), decoded to
 * text once, and split on "\n"; byte offsets are computed only for error messages.
 */
export async function* readJsonlSplit(split: InputSplit, fs: FileSystem, opts: ReadOptions): AsyncGenerator<RecordBatch> {
  const batchRows = Math.max(1, opts.batchRows ?? 4096);
  const ranged = split.format === "jsonl" && (split.start > 0 || split.end < split.size);
  const chunks =
    split.format !== "jsonl"
      ? decompressedChunks(fs, split)
      : ranged
        ? plainSplitChunks(fs, split)
        : streamChunks(openRange(fs, split.path, 0, split.size, split.size), split.path);
  const endLimit = ranged ? split.end : Infinity;
  let skipFirst = ranged && split.start > 0;

  let rows: unknown[] = [];
  let firstLine = 0;
  let bytes = 0;
  let rejected = 0;
  let line = 0;
  // Reject sinks may be async; their promises are awaited once per batch, not once per line.
  const pendingRejects: Promise<void>[] = [];
  const take = async (): Promise<RecordBatch> => {
    await Promise.all(pendingRejects.splice(0));
    const batch = { rows, firstLine, bytes, rejected };
    rows = [];
    bytes = 0;
    rejected = 0;
    return batch;
  };

  /** Parses the complete lines in buf[0, regionEnd) (the last one may lack its newline at EOF). */
  async function* region(buf: Buffer, regionEnd: number, bufOffset: number): AsyncGenerator<RecordBatch> {
    const text = buf.toString("utf8", 0, regionEnd);
    let pos = 0;
    let counted = 0; // chars of `text` already added to `bytes`
    while (pos < text.length) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) nl = text.length;
      if (skipFirst) {
        skipFirst = false; // the tail of a line owned by the previous split
        pos = counted = nl + 1;
        continue;
      }
      line++;
      if (line === 1 && split.start === 0 && text.charCodeAt(pos) === 0xfeff) pos++; // UTF-8 byte order mark
      let lineEnd = nl;
      if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
      if (!isBlank(text, pos, lineEnd)) {
        let value: unknown;
        let failure: Error | undefined;
        try {
          value = JSON.parse(text.slice(pos, lineEnd));
        } catch (err) {
          failure = err as Error;
        }
        if (failure) {
          const offset = bufOffset + Buffer.byteLength(text.slice(0, pos));
          if (!opts.rejects) throw new MalformedRecordError(split.path, describeLine(split, line, offset), failure.message);
          const raw = text.slice(pos, lineEnd);
          const pending = opts.rejects.reject({ path: split.path, line, byteOffset: offset, raw, reason: failure.message });
          if (pending) pendingRejects.push(pending);
          rejected++;
        } else {
          if (rows.length === 0) firstLine = line;
          rows.push(value);
        }
      }
      pos = nl + 1;
      if (rows.length >= batchRows || pos - counted >= MAX_BATCH_BYTES) {
        bytes += Buffer.byteLength(text.slice(counted, pos));
        counted = pos;
        yield await take();
      }
    }
    if (counted < text.length) bytes += Buffer.byteLength(text.slice(counted));
  }

  // Bytes after the last newline seen so far; they contain no newline. Kept as a list so that a very
  // long line arriving in many chunks is copied once, not once per chunk.
  let carry: Buffer[] = [];
  let carryOffset = skipFirst ? split.start - 1 : 0;
  for await (const chunk of chunks) {
    if (chunk.indexOf(NEWLINE) < 0) {
      carry.push(chunk);
      continue;
    }
    const buf: Buffer = carry.length ? Buffer.concat([...carry, chunk]) : chunk;
    const bufOffset = carryOffset;
    let regionEnd = buf.lastIndexOf(NEWLINE) + 1;
    let finished = false;
    if (endLimit !== Infinity) {
      // The newline at or after byte end-1 ends the last line this split owns.
      const lastOwned = endLimit - 1 - bufOffset;
      if (lastOwned < buf.length) {
        const cut = buf.indexOf(NEWLINE, Math.max(0, lastOwned));
        if (cut >= 0) {
          regionEnd = cut + 1;
          finished = true;
        }
      }
    }
    // Decode in pieces of about DECODE_PIECE bytes, cut at newlines: much faster than decoding
    // megabyte strings (measured 2-3x), whose slices then feed JSON.parse.
    for (let from = 0; from < regionEnd; ) {
      let to = regionEnd;
      if (to - from > DECODE_PIECE) {
        const nl = buf.lastIndexOf(NEWLINE, from + DECODE_PIECE - 1);
        to = nl >= from ? nl + 1 : buf.indexOf(NEWLINE, from + DECODE_PIECE) + 1;
      }
      yield* region(buf.subarray(from, to), to - from, bufOffset + from);
      from = to;
    }
    carry = regionEnd < buf.length ? [buf.subarray(regionEnd)] : [];
    carryOffset = bufOffset + regionEnd;
    if (finished) {
      carry = [];
      break;
    }
  }
  // An unterminated last line at end of file.
  if (carry.length && carryOffset < endLimit) {
    const last = Buffer.concat(carry);
    yield* region(last, last.length, carryOffset);
  }
  if (rows.length || rejected) yield await take();
}

function localPathOf(path: string): string {
  return path.startsWith("file://") ? fileURLToPath(path) : path;
}

/**
 * Writes JSON lines (optionally zstd-compressed) to a temporary file, committed on close: renamed
 * into place locally, uploaded in one request elsewhere. Rows are serialised by JSON.stringify, so
 * they follow its rules (NaN and Infinity become null, undefined fields are left out).
 */
export class JsonlWriter implements RecordWriter {
  private readonly tmp: string;
  private readonly file: Writable;
  private readonly head: Writable;
  private readonly local: boolean;
  private rows = 0;
  private failure: unknown;
  private done = false;

  constructor(
    private readonly path: string,
    private readonly fs: FileSystem,
    compressed: boolean,
    level: number,
  ) {
    this.local = fs.scheme === "file";
    this.tmp = this.local
      ? tempSibling(localPathOf(path))
      : nodePath.join(os.tmpdir(), `kiln-write-${process.pid}-${randomBytes(6).toString("hex")}`);
    mkdirSync(nodePath.dirname(this.tmp), { recursive: true });
    this.file = createWriteStream(this.tmp, { flags: "w" });
    this.file.on("error", (err) => (this.failure ??= err));
    if (compressed) {
      const zstd = new CompressStream({ compressionLevel: level });
      zstd.on("error", (err) => (this.failure ??= err));
      zstd.pipe(this.file);
      this.head = zstd;
    } else {
      this.head = this.file;
    }
  }

  private check(): void {
    if (this.failure !== undefined) {
      throw new StorageError(`writing ${this.path} failed: ${(this.failure as Error).message}`, "check free disk space and permissions", {
        cause: this.failure,
      });
    }
    if (this.done) throw new StorageError(`${this.path}: writer already closed`, "open a new writer for more rows");
  }

  async write(rows: unknown[]): Promise<void> {
    this.check();
    const parts: string[] = [];
    for (let i = 0; i < rows.length; i++) {
      const text = JSON.stringify(rows[i]);
      if (text === undefined) {
        throw new UnwritableRowError(this.path, `row ${this.rows + i} (${typeof rows[i]}) has no JSON form`);
      }
      parts.push(text);
    }
    this.rows += rows.length;
    if (parts.length === 0) return;
    parts.push("");
    if (!this.head.write(Buffer.from(parts.join("\n")))) {
      await new Promise<void>((resolve) => {
        const settle = () => {
          this.head.off("drain", settle);
          this.file.off("error", settle);
          resolve();
        };
        this.head.on("drain", settle);
        this.file.on("error", settle);
      });
    }
    this.check();
  }

  async close(): Promise<WriteResult> {
    this.check();
    this.done = true;
    await new Promise<void>((resolve) => {
      this.file.on("close", resolve);
      this.head.end();
    });
    try {
      if (this.failure !== undefined) {
        this.done = false;
        this.check();
      }
      const { size } = await fsp.stat(this.tmp);
      if (this.local) {
        await fsp.rename(this.tmp, localPathOf(this.path));
      } else if (this.fs.writeAtomicFromFile) {
        await this.fs.writeAtomicFromFile(this.path, this.tmp);
      } else {
        await this.fs.writeAtomic(this.path, await fsp.readFile(this.tmp));
      }
      return { path: this.path, rows: this.rows, bytes: size };
    } finally {
      await fsp.rm(this.tmp, { force: true });
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    const closed = new Promise<void>((resolve) => (this.file.closed ? resolve() : this.file.once("close", resolve)));
    this.head.destroy();
    this.file.destroy();
    await closed;
    await fsp.rm(this.tmp, { force: true });
  }
}
