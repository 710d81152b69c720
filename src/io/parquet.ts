/**
 * Parquet reading and writing. Reading uses hyparquet over ranged reads of the FileSystem (local or
 * gs://), one row group at a time, decoding only the requested columns, with zstd pages decompressed
 * by zstd-napi; INT64 values come back as numbers when they fit a double exactly. Writing infers a
 * schema from all rows of the file (string, float64, int64 when every number is an integer, boolean;
 * nested objects and arrays are stored as JSON text and listed in the file's `kiln.json_columns`
 * metadata so the reader parses them back), builds Arrow columns by hand and encodes with parquet-wasm
 * (zstd). Rows are held until close: one file per shard (parquet-wasm's memory only grows).
 * apache-arrow and parquet-wasm are loaded on the first write (~0.3 s), not when this module loads.
 */

type Arrow = typeof import("apache-arrow");
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from "hyparquet";
import { decompress as zstdDecompress } from "zstd-napi";
import type { Data, DataType, RecordBatch as ArrowBatch, Utf8 } from "apache-arrow";
import { KilnError } from "../errors.ts";
import { fileSystemFor, StorageError, type FileSystem } from "./filesystem.ts";
import {
  CorruptFileError,
  FormatError,
  SchemaMismatchError,
  UnwritableRowError,
  type InputSplit,
  type ReadOptions,
  type RecordBatch,
  type RecordWriter,
  type WriteResult,
} from "./format-types.ts";

const JSON_COLUMNS_KEY = "kiln.json_columns";
const compressors = { ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompress(input)) };

function fileBuffer(fs: FileSystem, path: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end: number = size): Promise<ArrayBuffer> {
      const b = await fs.readRange(path, start, Math.max(0, end - start));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    },
  };
}

function decodeFailure(err: unknown, path: string): Error {
  if (err instanceof KilnError) return err;
  return new CorruptFileError(path, `parquet: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

async function readMetadata(fs: FileSystem, path: string, size: number): Promise<{ file: AsyncBuffer; metadata: FileMetaData }> {
  const file = fileBuffer(fs, path, size);
  try {
    return { file, metadata: await parquetMetadataAsync(file) };
  } catch (err) {
    throw decodeFailure(err, path);
  }
}

function jsonColumnsOf(metadata: FileMetaData): Set<string> {
  const entry = metadata.key_value_metadata?.find((kv) => kv.key === JSON_COLUMNS_KEY);
  return new Set(entry?.value ? (JSON.parse(entry.value) as string[]) : []);
}

/** Top-level column name → "TYPE/logical/repetition", for schema comparison and column checks. */
function columnTypes(metadata: FileMetaData): Map<string, string> {
  const out = new Map<string, string>();
  const [root, ...elements] = metadata.schema;
  let i = 0;
  for (let c = 0; c < (root.num_children ?? 0); c++) {
    const el = elements[i];
    const logical = el.logical_type ? el.logical_type.type : (el.converted_type ?? "");
    out.set(el.name, `${el.type ?? "GROUP"}${logical ? `/${logical}` : ""}/${el.repetition_type ?? "REQUIRED"}`);
    // Skip the element's descendants (nested groups).
    let pending = el.num_children ?? 0;
    i++;
    while (pending > 0) pending += (elements[i++].num_children ?? 0) - 1;
  }
  return out;
}

function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return value;
}

/** Reads a parquet file as batches of row objects, one row group at a time. */
export async function* readParquetSplit(split: InputSplit, fs: FileSystem, opts: ReadOptions): AsyncGenerator<RecordBatch> {
  const batchRows = Math.max(1, opts.batchRows ?? 4096);
  const { file, metadata } = await readMetadata(fs, split.path, split.size);
  const types = columnTypes(metadata);
  // A file written from zero rows has no columns (its schema came from the rows): it simply has
  // nothing to yield, whatever columns are asked for.
  if (types.size === 0 && Number(metadata.num_rows) === 0) return;
  for (const column of opts.columns ?? []) {
    if (!types.has(column)) {
      throw new FormatError(
        "KILN_UNKNOWN_COLUMN",
        `${split.path}: no column '${column}' (columns: ${[...types.keys()].join(", ")})`,
        "select only columns the file has",
      );
    }
  }
  const jsonColumns = jsonColumnsOf(metadata);
  const wanted = opts.columns ? new Set(opts.columns) : undefined;
  let rowStart = 0;
  for (const group of metadata.row_groups) {
    const groupRows = Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      rows = await parquetReadObjects({
        file,
        metadata,
        columns: opts.columns,
        rowStart,
        rowEnd: rowStart + groupRows,
        compressors,
        ...(opts.filter ? { filter: opts.filter as never } : {}),
      });
    } catch (err) {
      throw decodeFailure(err, split.path);
    }
    for (const row of rows) {
      for (const key of Object.keys(row)) {
        const v = row[key];
        if (typeof v === "bigint") row[key] = toPlain(v);
        else if (jsonColumns.has(key) && typeof v === "string") row[key] = JSON.parse(v);
      }
    }
    // Bytes: the compressed size of the column chunks read, counted on the group's first batch.
    let groupBytes = 0;
    for (const chunk of group.columns) {
      const column = chunk.meta_data?.path_in_schema[0];
      if (column !== undefined && (!wanted || wanted.has(column))) groupBytes += Number(chunk.meta_data?.total_compressed_size ?? 0);
    }
    if (rows.length === 0 && groupBytes > 0) yield { rows: [], firstLine: rowStart, bytes: groupBytes, rejected: 0 };
    for (let k = 0; k < rows.length; k += batchRows) {
      yield { rows: rows.slice(k, k + batchRows), firstLine: rowStart + k, bytes: k === 0 ? groupBytes : 0, rejected: 0 };
    }
    rowStart += groupRows;
  }
}

/** Fails when the parquet files among `splits` do not share one schema, naming both files and the column. */
export async function checkSchemasAgree(splits: InputSplit[], fs?: FileSystem): Promise<void> {
  const seen = new Set<string>();
  let reference: { path: string; types: Map<string, string> } | undefined;
  for (const split of splits) {
    if (split.format !== "parquet" || seen.has(split.path)) continue;
    seen.add(split.path);
    const { metadata } = await readMetadata(fs ?? fileSystemFor(split.path), split.path, split.size);
    const types = columnTypes(metadata);
    if (!reference) {
      reference = { path: split.path, types };
      continue;
    }
    const names = new Set([...reference.types.keys(), ...types.keys()]);
    for (const name of names) {
      const a = reference.types.get(name);
      const b = types.get(name);
      if (a === b) continue;
      const what = !a || !b ? `column '${name}' is only in ${a ? reference.path : split.path}` : `column '${name}' is ${a} in ${reference.path} but ${b} in ${split.path}`;
      throw new SchemaMismatchError(`parquet schemas differ between ${reference.path} and ${split.path}: ${what}`);
    }
  }
}

type ColumnKind = "string" | "float" | "int" | "bool" | "json" | "null";

function kindOf(value: unknown): ColumnKind {
  switch (typeof value) {
    case "string":
      return "string";
    case "boolean":
      return "bool";
    case "number":
      return Number.isSafeInteger(value) ? "int" : "float";
    case "bigint":
      return "int";
    case "object":
      return value === null ? "null" : "json";
    default:
      return "null"; // undefined: the field is absent
  }
}

function mergeKinds(a: ColumnKind, b: ColumnKind): ColumnKind | undefined {
  if (a === b || b === "null") return a;
  if (a === "null") return b;
  if ((a === "int" && b === "float") || (a === "float" && b === "int")) return "float";
  return undefined;
}

function inferColumns(rows: Record<string, unknown>[], path: string): Map<string, ColumnKind> {
  const kinds = new Map<string, ColumnKind>();
  rows.forEach((row, index) => {
    for (const key of Object.keys(row)) {
      const value = row[key];
      if (typeof value === "function" || typeof value === "symbol") {
        throw new UnwritableRowError(path, `row ${index}, field '${key}': a ${typeof value} cannot be stored`);
      }
      const kind = kindOf(value);
      const prev = kinds.get(key) ?? "null";
      const merged = mergeKinds(prev, kind);
      if (!merged) {
        throw new UnwritableRowError(path, `row ${index}, field '${key}': ${kind} value in a column of ${prev} values`);
      }
      kinds.set(key, merged);
    }
  });
  return kinds;
}

function validity(values: unknown[]): { bitmap: Uint8Array; nulls: number } {
  const bitmap = new Uint8Array((values.length + 7) >> 3);
  let nulls = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nulls++;
    else bitmap[i >> 3] |= 1 << (i & 7);
  }
  return { bitmap, nulls };
}

function utf8Data(arrow: Arrow, texts: (string | null)[]): Data<Utf8> {
  const encoder = new TextEncoder();
  const offsets = new Int32Array(texts.length + 1);
  let bytes = new Uint8Array(Math.max(1024, texts.length * 16));
  let used = 0;
  for (let i = 0; i < texts.length; i++) {
    const t = texts[i];
    if (t !== null) {
      const need = used + t.length * 3;
      if (need > bytes.length) {
        const grown = new Uint8Array(Math.max(need, bytes.length * 2));
        grown.set(bytes.subarray(0, used));
        bytes = grown;
      }
      used += encoder.encodeInto(t, bytes.subarray(used)).written;
    }
    offsets[i + 1] = used;
  }
  const { bitmap, nulls } = validity(texts);
  return arrow.makeData({ type: new arrow.Utf8(), length: texts.length, nullCount: nulls, nullBitmap: bitmap, valueOffsets: offsets, data: bytes.subarray(0, used) });
}

function columnData(arrow: Arrow, kind: ColumnKind, values: unknown[]): Data {
  const { makeData, Float64, Int64, Bool } = arrow;
  const n = values.length;
  const { bitmap, nulls } = validity(values);
  switch (kind) {
    case "float": {
      const data = new Float64Array(n);
      values.forEach((v, i) => (data[i] = v == null ? 0 : Number(v)));
      return makeData({ type: new Float64(), length: n, nullCount: nulls, nullBitmap: bitmap, data });
    }
    case "int": {
      const data = new BigInt64Array(n);
      values.forEach((v, i) => (data[i] = v == null ? 0n : BigInt(v as number | bigint)));
      return makeData({ type: new Int64(), length: n, nullCount: nulls, nullBitmap: bitmap, data });
    }
    case "bool": {
      const data = new Uint8Array((n + 7) >> 3);
      values.forEach((v, i) => {
        if (v === true) data[i >> 3] |= 1 << (i & 7);
      });
      return makeData({ type: new Bool(), length: n, nullCount: nulls, nullBitmap: bitmap, data });
    }
    case "json":
      return utf8Data(arrow, values.map((v) => (v == null ? null : JSON.stringify(v))));
    default:
      return utf8Data(arrow, values.map((v) => (v == null ? null : String(v))));
  }
}

function arrowType(arrow: Arrow, kind: ColumnKind): DataType {
  if (kind === "float") return new arrow.Float64();
  if (kind === "int") return new arrow.Int64();
  if (kind === "bool") return new arrow.Bool();
  return new arrow.Utf8(); // string, json text, and columns that are null in every row
}

/** Encodes rows (plain objects) as one zstd-compressed parquet file. */
export async function encodeParquet(rows: Record<string, unknown>[], path: string, rowGroupRows: number): Promise<Uint8Array> {
  const kinds = inferColumns(rows, path);
  const [arrow, parquetWasm] = await Promise.all([import("apache-arrow"), import("parquet-wasm")]);
  const { Field, Schema, Struct, Table, makeData, tableToIPC } = arrow;
  const names = [...kinds.keys()];
  const schema = new Schema(names.map((name) => new Field(name, arrowType(arrow, kinds.get(name)!), true)));
  const batches: ArrowBatch[] = [];
  for (let start = 0; start === 0 || start < rows.length; start += rowGroupRows) {
    const slice = rows.slice(start, start + rowGroupRows);
    const children = names.map((name) => columnData(arrow, kinds.get(name)!, slice.map((r) => r[name])));
    const struct = makeData({ type: new Struct(schema.fields), length: slice.length, nullCount: 0, children });
    batches.push(new arrow.RecordBatch(schema, struct));
  }
  const ipc = tableToIPC(new Table(schema, batches), "stream");
  const jsonColumns = names.filter((n) => kinds.get(n) === "json");
  const props = new parquetWasm.WriterPropertiesBuilder()
    .setCompression(parquetWasm.Compression.ZSTD)
    .setMaxRowGroupSize(rowGroupRows)
    .setKeyValueMetadata(new Map([[JSON_COLUMNS_KEY, JSON.stringify(jsonColumns)]]))
    .build();
  // writeParquet takes ownership of the wasm table and the properties (and frees them).
  return parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(ipc), props);
}

/** Collects rows and writes them as one parquet file on close (atomically, through the FileSystem). */
export class ParquetWriter implements RecordWriter {
  private rows: Record<string, unknown>[] = [];
  private done = false;

  constructor(
    private readonly path: string,
    private readonly fs: FileSystem,
    private readonly rowGroupRows: number,
  ) {}

  async write(rows: unknown[]): Promise<void> {
    if (this.done) throw new StorageError(`${this.path}: writer already closed`, "open a new writer for more rows");
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      if (row === null || typeof row !== "object" || Array.isArray(row)) {
        throw new UnwritableRowError(this.path, `row ${this.rows.length} is ${Array.isArray(row) ? "an array" : String(row)}, not an object`);
      }
      for (const [key, value] of Object.entries(row)) {
        if (typeof value === "number" && !Number.isFinite(value)) {
          throw new UnwritableRowError(this.path, `row ${this.rows.length}, field '${key}': ${value} cannot be stored`);
        }
      }
      this.rows.push(row as Record<string, unknown>);
    }
  }

  async close(): Promise<WriteResult> {
    if (this.done) throw new StorageError(`${this.path}: writer already closed`, "open a new writer for more rows");
    this.done = true;
    const bytes = await encodeParquet(this.rows, this.path, this.rowGroupRows);
    const rows = this.rows.length;
    this.rows = [];
    await this.fs.writeAtomic(this.path, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { path: this.path, rows, bytes: bytes.byteLength };
  }

  async abort(): Promise<void> {
    this.done = true;
    this.rows = [];
  }
}
