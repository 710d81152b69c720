/**
 * Reading the normalize step's input records together with the facts normalization needs: for
 * JSON-lines files (plain, .zst, .gz) the raw bytes are decoded here with `decodeUtf8Counting`, so
 * invalid UTF-8 is counted rather than silently replaced by a generic decoder; parquet files go
 * through the io layer's reader, and a text column stored as binary is decoded with the same
 * counting decoder. Every record comes with its 1-based line (JSONL) or 0-based row (parquet)
 * number, so that errors and fallback source ids can name it.
 */
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { DecompressStream } from "zstd-napi";
import { fileSystemFor } from "../../io/index.ts";
import { CorruptFileError, readSplit, type InputSplit } from "../../io/formats.ts";
import { decodeUtf8Counting, type CounterSink } from "../text/index.ts";
import { NormalizeError } from "./errors.ts";

export interface InputRecord {
  record: Record<string, unknown>;
  /** JSONL: 1-based line number; parquet: 0-based row index. */
  position: number;
}

const NEWLINE = 0x0a;
const PIECE = 1 << 20;

async function* rawBytes(split: InputSplit): AsyncGenerator<Buffer> {
  const fs = fileSystemFor(split.path);
  const source: Readable = fs.readStream ? fs.readStream(split.path) : Readable.from([await fs.read(split.path)]);
  if (split.format === "jsonl") {
    for await (const chunk of source) yield chunk as Buffer;
    return;
  }
  const decoder = split.format === "jsonl.zst" ? new DecompressStream() : createGunzip();
  source.on("error", (err) => decoder.destroy(err));
  source.pipe(decoder);
  try {
    for await (const chunk of decoder) yield chunk as Buffer;
  } catch (err) {
    throw new CorruptFileError(split.path, `${split.format === "jsonl.zst" ? "zstd" : "gzip"} stream: ${(err as Error).message}`, { cause: err });
  } finally {
    source.destroy();
    decoder.destroy();
  }
}

/** The records of one JSONL file, decoding UTF-8 in newline-aligned pieces with counting. */
async function* jsonlRecords(split: InputSplit, counters: CounterSink): AsyncGenerator<InputRecord> {
  let line = 0;
  let carry: Buffer = Buffer.alloc(0);
  const parse = function* (piece: Buffer): Generator<InputRecord> {
    const { text } = decodeUtf8Counting(piece, counters);
    let pos = 0;
    while (pos < text.length) {
      let nl = text.indexOf("\n", pos);
      if (nl < 0) nl = text.length;
      line++;
      let body = text.slice(pos, nl);
      if (line === 1 && body.charCodeAt(0) === 0xfeff) body = body.slice(1);
      pos = nl + 1;
      if (body.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(body);
      } catch (err) {
        throw new NormalizeError(`${split.path}: line ${line}: not valid JSON (${(err as Error).message})`, "fix or remove the line, then run the step again");
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new NormalizeError(`${split.path}: line ${line}: a record must be a JSON object, got ${Array.isArray(value) ? "an array" : typeof value}`, "write one JSON object per line");
      }
      yield { record: value as Record<string, unknown>, position: line };
    }
  };
  for await (const chunk of rawBytes(split)) {
    const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
    const last = buf.lastIndexOf(NEWLINE);
    if (last < 0) {
      carry = buf;
      continue;
    }
    // Decode newline-aligned pieces of about PIECE bytes (invalid UTF-8 never contains a newline).
    for (let from = 0; from <= last; ) {
      let to = last + 1;
      if (to - from > PIECE) {
        const nl = buf.lastIndexOf(NEWLINE, from + PIECE - 1);
        to = nl >= from ? nl + 1 : buf.indexOf(NEWLINE, from + PIECE) + 1;
      }
      yield* parse(buf.subarray(from, to));
      from = to;
    }
    carry = Buffer.from(buf.subarray(last + 1));
  }
  if (carry.length) yield* parse(carry);
}

async function* parquetRecords(split: InputSplit): AsyncGenerator<InputRecord> {
  for await (const batch of readSplit(split)) {
    for (let i = 0; i < batch.rows.length; i++) yield { record: batch.rows[i] as Record<string, unknown>, position: batch.firstLine + i };
  }
}

/** Every record of one input file, in file order. */
export function readInputRecords(split: InputSplit, counters: CounterSink): AsyncGenerator<InputRecord> {
  return split.format === "parquet" ? parquetRecords(split) : jsonlRecords(split, counters);
}

/**
 * The text of a record's `field`: a string as is, binary decoded as UTF-8 with counting, `undefined`
 * when missing or null. Any other type fails naming the file, record and field.
 */
export function textOf(record: Record<string, unknown>, field: string, where: string, counters: CounterSink): string | undefined {
  const value = record[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return decodeUtf8Counting(value, counters).text;
  throw new NormalizeError(`${where}: field '${field}' is ${Array.isArray(value) ? "an array" : typeof value}, not text`, `point textField at a string field, or fix the record`);
}
