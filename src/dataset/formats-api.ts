/**
 * The slice of the file-format layer (src/io) that Dataset execution uses, as types, plus a lazy
 * loader. Execution imports the formats module only when a plan reads or writes files, so plans
 * over inline rows run without loading parquet and zstd code.
 */
import { loadModule } from "./exec/module-loader.ts";
import type { InputFormat, OutputSchema } from "./logical.ts";

export interface InputSplit {
  path: string;
  format: InputFormat;
  size: number;
  start: number;
  end: number;
}

/** A record a reader could not decode and set aside (policy skip or quarantine). */
export interface RejectedRecord {
  path: string;
  line: number;
  byteOffset: number;
  /** Short stable code, e.g. "malformed-json". */
  reason: string;
  message: string;
  raw: string;
}

export interface FormatBatch {
  rows: unknown[];
  firstLine: number;
  /** Each row's line when the rows are not consecutive lines. */
  lines?: number[];
  bytes: number;
  /** Records of this batch whose invalid UTF-8 was replaced by U+FFFD. */
  invalidUtf8?: number;
}

export interface FormatWriter {
  write(rows: unknown[]): Promise<void>;
  close(): Promise<{ path: string; rows: number; bytes: number }>;
  abort(): Promise<void>;
}

export interface WriterOptions {
  schema?: OutputSchema;
  rowGroupRows?: number;
}

/** Where a read sends the records it rejects; the quarantine kind keeps them in a file committed on close. */
export interface RejectSinkLike {
  reject(r: RejectedRecord): void | Promise<void>;
  byReason(): Record<string, number>;
  readonly total: number;
}
export interface QuarantineLike extends RejectSinkLike {
  close(): Promise<unknown>;
  abort(): Promise<void>;
}

export interface FormatsApi {
  RejectCounter: new () => RejectSinkLike;
  QuarantineSink: new (path: string) => QuarantineLike;
  expandInputs(patterns: string | string[], opts?: { splitBytes?: number }): Promise<InputSplit[]>;
  readSplit(
    split: InputSplit,
    opts?: { columns?: string[]; filter?: Record<string, unknown>; rejects?: RejectSinkLike },
  ): AsyncIterable<FormatBatch>;
  openWriter(path: string, format: "jsonl" | "jsonl.zst" | "parquet", opts?: WriterOptions): FormatWriter;
  expandOutputPattern(pattern: string, shard: number, total: number): string;
  readParquetSchema(path: string): Promise<OutputSchema>;
}

const FORMATS_MODULE = new URL("../io/formats.ts", import.meta.url).href;
let loaded: Promise<FormatsApi> | undefined;

export function loadFormats(): Promise<FormatsApi> {
  loaded ??= loadModule<FormatsApi>(FORMATS_MODULE);
  return loaded;
}
