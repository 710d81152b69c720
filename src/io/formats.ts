/**
 * The entry point of kiln's file formats: jsonl, jsonl.zst, jsonl.gz and parquet, on any FileSystem.
 * `expandInputs` turns glob patterns into splits in input order (large plain JSONL files cut by byte range),
 * `readSplit` yields batches of rows from one split (with the invalid UTF-8 it repaired and the bad
 * lines it rejected), `QuarantineSink` keeps rejected lines in a file, `checkSchemasAgree` guards
 * parquet globs, `readParquetSchema` returns a file's schema, `openWriter` writes a file that
 * appears atomically on close (parquet with an explicit schema when given), and
 * `expandOutputPattern` fills `{shard}`/`{total}` in output names. Filter pushdown: `columns` prunes parquet columns, and an
 * optional `filter` (hyparquet's filter language) skips parquet row groups by statistics and drops
 * non-matching rows; JSONL readers ignore `filter`, so plans keep their own filter operator.
 */
import { fileSystemFor } from "./filesystem.ts";
import "./local.ts";
import "./gcs.ts";
import "./http.ts";
import { JsonlWriter, readJsonlSplit } from "./jsonl.ts";
import { readParquetSplit } from "./parquet.ts";
import { ParquetWriter } from "./parquet-writer.ts";
import {
  FormatError,
  type InputSplit,
  type ReadOptions,
  type RecordBatch,
  type RecordWriter,
  type WritableFormat,
  type WriterOptions,
} from "./format-types.ts";

export * from "./format-types.ts";
export { DEFAULT_SPLIT_BYTES, expandInputs, formatOf, globToRegExp } from "./inputs.ts";
export { checkSchemasAgree, inferParquetSchema, readParquetSchema } from "./parquet.ts";
export { QuarantineSink, RejectCounter, type QuarantinedLine, type QuarantineResult } from "./quarantine.ts";
export { decodeUtf8Counting, INVALID_UTF8_COUNTER } from "./utf8.ts";

/**
 * Reads one split as batches of rows (thousands per batch). JSONL: a line that is not a record
 * (see RejectReason) throws MalformedRecordError naming the file and line (see RecordBatch.firstLine
 * for how lines are counted in byte-range splits), or goes to `opts.rejects` when given (a
 * QuarantineSink, say) and is counted in the batch's `rejected`. Invalid UTF-8 is repaired with
 * U+FFFD and counted in `invalidUtf8`; a byte order mark at the start of a file is dropped.
 * Truncated or corrupt .zst, .gz and parquet files throw CorruptFileError naming the file: a file
 * that cannot be decoded is never skipped line by line.
 */
export function readSplit(split: InputSplit, opts: ReadOptions = {}): AsyncIterable<RecordBatch> {
  const fs = opts.fs ?? fileSystemFor(split.path);
  return split.format === "parquet" ? readParquetSplit(split, fs, opts) : readJsonlSplit(split, fs, opts);
}

/** Opens a writer; the file appears at `path` only when `close()` commits it. */
export function openWriter(path: string, format: WritableFormat, opts: WriterOptions = {}): RecordWriter {
  const fs = opts.fs ?? fileSystemFor(path);
  switch (format) {
    case "jsonl":
      return new JsonlWriter(path, fs, false, 0);
    case "jsonl.zst":
      return new JsonlWriter(path, fs, true, opts.level ?? 3);
    case "parquet":
      return new ParquetWriter(path, fs, Math.max(1, opts.rowGroupRows ?? 65536), opts.schema);
    default:
      throw new FormatError(
        "KILN_UNKNOWN_FORMAT",
        `cannot write format '${String(format)}' (${path})`,
        "write jsonl, jsonl.zst or parquet",
      );
  }
}

/** Fills `{shard}` and `{total}` with 5-digit zero-padded numbers: part-{shard}-of-{total}.parquet. */
export function expandOutputPattern(pattern: string, shard: number, total: number): string {
  if (!Number.isInteger(shard) || !Number.isInteger(total) || shard < 0 || total < 1 || shard >= total) {
    throw new FormatError(
      "KILN_BAD_SHARD",
      `shard ${shard} of ${total} is not valid for output pattern '${pattern}'`,
      "use 0 <= shard < total",
    );
  }
  const pad = (n: number) => String(n).padStart(5, "0");
  return pattern.replaceAll("{shard}", pad(shard)).replaceAll("{total}", pad(total));
}
