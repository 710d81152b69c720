/**
 * The shared vocabulary of kiln's file formats: the format names, an input split (a whole file or a
 * byte range of one), a batch of decoded records, the reject sink for malformed lines, the record
 * writer, and the typed errors every reader and writer raises. `formats.ts` re-exports all of it;
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
   * JSONL: 1-based line number of the first row, counted from the split's start (for splits that
   * start at byte 0 — every unsplit or compressed file — this is the line number in the file).
   * Parquet: 0-based index of the first row in the file.
   */
  firstLine: number;
  /**
   * Bytes consumed for these rows. JSONL: the lines, uncompressed. Parquet: the compressed size of
   * the column chunks read, counted on the first batch of each row group (0 on the others).
   */
  bytes: number;
  /** Lines of this batch sent to the reject sink instead of `rows`. */
  rejected: number;
}

export interface RejectedLine {
  path: string;
  /** 1-based line number counted from the split's start (see RecordBatch.firstLine). */
  line: number;
  /** Byte offset where the line starts (in the decompressed stream for .zst/.gz). */
  byteOffset: number;
  raw: string;
  reason: string;
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
}

export interface WriterOptions {
  fs?: FileSystem;
  /** zstd level for jsonl.zst (default 3). */
  level?: number;
  /** Parquet: rows per row group (default 65536). */
  rowGroupRows?: number;
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
  constructor(
    readonly path: string,
    readonly where: string,
    reason: string,
  ) {
    super(
      "KILN_MALFORMED_RECORD",
      `${path}: ${where}: not valid JSON (${reason})`,
      "fix or remove the line, or read with a reject sink to set malformed lines aside",
    );
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
  constructor(path: string, message: string) {
    super("KILN_UNWRITABLE_ROW", `${path}: ${message}`, "make every row an object whose fields keep one type per column");
  }
}
