/**
 * The shared vocabulary of kiln's file formats: the format names, an input split (a whole file or a
 * byte range of one), a batch of decoded records, why a line is rejected and the sink rejected lines
 * go to, the parquet schema types, the record writer, and the typed errors every reader and writer
 * raises. `formats.ts` re-exports all of it;
 * the per-format modules import it from here so that they do not import each other.
 */
import { KilnError } from "../errors.ts";
import type { FileSystem } from "./filesystem.ts";

export type Format = "jsonl" | "jsonl.zst" | "jsonl.gz" | "parquet";
export type WritableFormat = "jsonl" | "jsonl.zst" | "parquet";

/** A unit of input: bytes [start, end) of one file (end exclusive; a whole file is [0, size)). */
export interface InputSplit {
  path: string;
  format: Format;
  size: number;
  start: number;
  end: number;
}

export interface RecordBatch {
  rows: unknown[];
  /**
   * JSONL: 1-based line number of the first row (of the first rejected line when the batch has no
   * rows), counted from the split's start (for splits that start at byte 0 — every unsplit or
   * compressed file — this is the line number in the file).
   * Parquet: 0-based index of the first row in the file.
   */
  firstLine: number;
  /**
   * JSONL: the line number of each row, present only when the rows are not consecutive lines (blank
   * or rejected lines between them); otherwise row i is on line firstLine + i.
   */
  lines?: number[];
  /**
   * Bytes consumed for these rows. JSONL: the lines, uncompressed. Parquet: the compressed size of
   * the column chunks read, counted on the first batch of each row group (0 on the others).
   */
  bytes: number;
  /** Lines of this batch sent to the reject sink instead of `rows`. */
  rejected: number;
  /**
   * U+FFFD replacements made while decoding this batch's bytes as UTF-8: each is one invalid
   * sequence (a maximal invalid subpart), not one record; validly encoded U+FFFD are not counted.
   * JSONL: every line of the batch (rejected and blank lines too). Parquet: string values as
   * decoded, counted on the first batch of each row group; a dictionary-encoded value is decoded,
   * and counted, once per column chunk however many rows repeat it.
   */
  invalidUtf8: number;
}

/**
 * Why a JSONL line was not returned as a row (stable codes, for counters and quarantine files):
 * - `malformed-json`: the line is not valid JSON;
 * - `truncated-line`: the last line of the file has no newline and is not valid JSON: the file was
 *   most likely cut short while being written or copied;
 * - `line-too-long`: the line is longer than `ReadOptions.maxLineBytes` (a file without newlines,
 *   or a JSON array stored in one line, would otherwise be decoded into one huge string);
 * - `not-an-object`: valid JSON but not an object (only with `ReadOptions.requireObjects`);
 * - `reserved-field`: a field (at any depth) is named `__proto__`, which a JavaScript object cannot
 *   carry through kiln as data (assigning it changes the object's prototype, and msgpack renames it),
 *   so the record would lose or change that field on the way.
 */
export type RejectReason = "malformed-json" | "truncated-line" | "line-too-long" | "not-an-object" | "reserved-field";

export const REJECT_REASONS: readonly RejectReason[] = ["malformed-json", "truncated-line", "line-too-long", "not-an-object", "reserved-field"];

/** At most this many characters of a rejected line are kept in `RejectedLine.raw`. */
export const MAX_REJECTED_RAW_CHARS = 4096;

export interface RejectedLine {
  path: string;
  /** 1-based line number counted from the split's start (see RecordBatch.firstLine). */
  line: number;
  /** Byte offset where the line starts (in the decompressed stream for .zst/.gz). */
  byteOffset: number;
  reason: RejectReason;
  /** What is wrong, for people (e.g. the JSON parser's message); no path or line in it. */
  message: string;
  /** The line as decoded text, cut to MAX_REJECTED_RAW_CHARS characters. */
  raw: string;
  /** The full length of the line in bytes (more than `raw` holds when it was cut). */
  rawBytes: number;
}

/** Where malformed lines go when a reader is told not to fail on them. */
export interface RejectSink {
  reject(rejected: RejectedLine): void | Promise<void>;
}

/**
 * Row-level pushdown for parquet reads, in hyparquet's filter language (e.g.
 * `{ lang: { $eq: "en" }, score: { $gt: 0.5 } }`): row groups whose statistics cannot match are
 * skipped and non-matching rows are dropped. JSONL readers ignore it, so a plan must keep its own
 * filter operator: a pushed-down filter only ever removes rows the plan's filter would remove too.
 */
export type RowFilter = Record<string, unknown>;

export interface ReadOptions {
  /** Columns to read (parquet reads only these; JSONL rows are returned whole). */
  columns?: string[];
  rejects?: RejectSink;
  fs?: FileSystem;
  filter?: RowFilter;
  /** Rows per batch (default 4096). */
  batchRows?: number;
  /** JSONL: a longer line is rejected as `line-too-long` (default DEFAULT_MAX_LINE_BYTES, 128 MiB). */
  maxLineBytes?: number;
  /** JSONL: a line holding valid JSON that is not an object is rejected as `not-an-object`. */
  requireObjects?: boolean;
}

export const DEFAULT_MAX_LINE_BYTES = 128 << 20;

/** A parquet column type. Every column, struct field and list element is nullable. */
export type ParquetType =
  | "string"
  | "int64"
  | "float64"
  | "bool"
  /** Any JSON value, stored as JSON text (listed in the file's `kiln.json_columns`). */
  | "json"
  | { struct: Record<string, ParquetType> }
  | { list: ParquetType };

/** Column name → type; the columns are written in key order. */
export type ParquetSchema = Record<string, ParquetType>;

export interface WriterOptions {
  fs?: FileSystem;
  /** zstd level for jsonl.zst (default 3). */
  level?: number;
  /** Parquet: rows per row group (default 65536); fewer when rows are large, as a row group holds at most about 2 Mi characters of values. */
  rowGroupRows?: number;
  /**
   * Parquet: the file's columns. Rows are checked against it as they are written, and a file with
   * zero rows still carries every column. Without it the schema is inferred from the rows (nested
   * values become JSON text; a row that conflicts with earlier ones fails as it is written), and a
   * file written from zero rows has no columns at all: kiln reads it as empty, but DuckDB and
   * pyarrow refuse it.
   */
  schema?: ParquetSchema;
}

export interface WriteResult {
  path: string;
  rows: number;
  bytes: number;
}

export interface RecordWriter {
  write(rows: unknown[]): Promise<void>;
  /** Commits the file atomically: before this resolves no reader can see it. */
  close(): Promise<WriteResult>;
  /** Drops everything written so far; the target is left untouched. */
  abort(): Promise<void>;
}

export class FormatError extends KilnError {}

export class UnknownFormatError extends FormatError {
  constructor(path: string) {
    super(
      "KILN_UNKNOWN_FORMAT",
      `cannot tell the format of '${path}' from its name`,
      "name input files .jsonl/.json/.ndjson (optionally .zst or .gz) or .parquet",
    );
  }
}

export class NoInputMatchError extends FormatError {
  constructor(pattern: string) {
    super("KILN_NO_INPUT", `no file matches the input pattern '${pattern}'`, "check the path and the glob pattern");
  }
}

export class MalformedRecordError extends FormatError {
  readonly path: string;
  readonly reason: RejectReason;

  /** `where` names the line (file line and byte, or byte offset inside a byte-range split). */
  constructor(rejected: RejectedLine, where: string) {
    super(
      "KILN_MALFORMED_RECORD",
      `${rejected.path}: ${where}: ${rejected.message}`,
      'fix or remove the line, or read with Dataset.read(patterns, { onBadRecord: "skip" }) to drop bad lines ' +
        '(or { onBadRecord: "quarantine" } to set them aside in a file)',
    );
    this.path = rejected.path;
    this.reason = rejected.reason;
  }
}

export class CorruptFileError extends FormatError {
  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(
      "KILN_CORRUPT_FILE",
      `${path}: cannot be decoded: ${reason}`,
      "the file is truncated or damaged; regenerate it (or re-run the step that wrote it)",
      options,
    );
  }
}

export class SchemaMismatchError extends FormatError {
  constructor(message: string) {
    super("KILN_SCHEMA_MISMATCH", message, "make the files agree (same column names and types) or read them separately");
  }
}

export class UnwritableRowError extends FormatError {
  constructor(path: string, message: string, hint = "make every row an object whose fields keep one type per column") {
    super("KILN_UNWRITABLE_ROW", `${path}: ${message}`, hint);
  }
}

/** A parquet schema that cannot be written (unknown type, empty struct, no columns). */
export class BadSchemaError extends FormatError {
  constructor(where: string, message: string) {
    super("KILN_BAD_SCHEMA", `${where}: ${message}`, 'give every column one of "string", "int64", "float64", "bool", "json", { struct: {...} } or { list: ... }');
  }
}
