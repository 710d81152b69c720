/**
 * Parquet reading: hyparquet over ranged reads of the FileSystem (local or
 * gs://), one row group at a time, decoding only the requested columns, with zstd pages decompressed
 * by zstd-napi (into which buffers: parquet-pages.ts); INT64 values come back as numbers when they
 * fit a double exactly (inside structs and lists too), structs as plain objects (absent fields as
 * null), lists as arrays, and "json" columns parsed. String values are decoded with a count of invalid UTF-8 repaired (RecordBatch.invalidUtf8).
 * `readParquetBytes` reads a whole file held in memory. Writing is parquet-writer.ts.
 * `readParquetSchema` returns a file's schema so that a writer can reuse it (an empty sibling part),
 * and `checkSchemasAgree` guards folder globs.
 */
import { parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData, type RowGroup } from "hyparquet";
import { KilnError } from "../errors.ts";
import { fileSystemFor, StorageError, type FileSystem } from "./filesystem.ts";
import {
  CorruptFileError,
  FormatError,
  SchemaMismatchError,
  type InputSplit,
  type ParquetSchema,
  type ParquetType,
  type ReadOptions,
  type RecordBatch,
} from "./format-types.ts";
import { checkNoReservedNames, columnSignature, columnsOf, isRecord } from "./parquet-schema.ts";
import { reservedKeyIn } from "./reserved-keys.ts";
import { decodeReplacing, replacementsIn } from "./utf8.ts";
import { pageDecompressors } from "./parquet-pages.ts";
import { groupReads, PrefetchingBuffer, type GroupReads } from "./parquet-prefetch.ts";

export { inferParquetSchema } from "./parquet-schema.ts";

function fileBuffer(fs: FileSystem, path: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end: number = size): Promise<ArrayBuffer> {
      const b = await fs.readRange(path, start, Math.max(0, end - start));
      // A read that owns its whole ArrayBuffer is passed on as it is; one in a shared pool is copied out.
      if (b.byteOffset === 0 && b.length === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b.buffer;
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    },
  };
}

function decodeFailure(err: unknown, path: string, where = ""): Error {
  if (err instanceof KilnError) return err;
  if (err instanceof ReservedKeyInJson) {
    return new FormatError(
      "KILN_UNSUPPORTED_COLUMN",
      `${path}${where}: ${err.message}, which a record cannot carry as data (on a JavaScript object it sets the prototype)`,
      "rename the key in the file's JSON values",
    );
  }
  return new CorruptFileError(path, `parquet${where}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}

interface ParquetFile {
  file: AsyncBuffer;
  metadata: FileMetaData;
  /** Top-level column → kiln type (undefined for types only other tools write). */
  columns: Map<string, ParquetType | undefined>;
}

async function openParquet(fs: FileSystem, path: string, size: number): Promise<ParquetFile> {
  return parquetOf(fileBuffer(fs, path, size), path);
}

async function parquetOf(file: AsyncBuffer, path: string): Promise<ParquetFile> {
  try {
    const metadata = await parquetMetadataAsync(file);
    return { file, metadata, columns: columnsOf(metadata, path) };
  } catch (err) {
    throw decodeFailure(err, path);
  }
}

/** A file written from zero rows without a schema: no columns, nothing to read, compatible with any glob. */
function isColumnlessEmpty(parquet: ParquetFile): boolean {
  return parquet.columns.size === 0 && Number(parquet.metadata.num_rows) === 0;
}

function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  return value;
}

type Convert = (value: unknown) => unknown;

/** Columns of types kiln does not write: bigints to numbers at any depth, the rest as decoded. */
function plainDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainDeep);
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plainDeep(v)]));
  }
  return toPlain(value);
}

const orNull: Convert = (value) => value ?? null;

/** How a decoded value of `type` becomes the row's value; undefined when it is already right. */
function converterFor(type: ParquetType | undefined): Convert | undefined {
  if (type === undefined) return plainDeep;
  switch (type) {
    case "int64":
      return toPlain;
    case "json":
      return (v) => (typeof v === "string" ? parseJsonValue(v) : (v ?? null));
    case "string":
    case "float64":
    case "bool":
      return undefined;
  }
  if ("list" in type) {
    const item = converterFor(type.list) ?? orNull;
    return (v) => (Array.isArray(v) ? v.map((x) => (x === null || x === undefined ? null : item(x))) : null);
  }
  const fields = Object.entries(type.struct).map(([name, field]): [string, Convert] => [name, converterFor(field) ?? orNull]);
  return (v) => {
    if (v === null || typeof v !== "object") return null;
    const out: Record<string, unknown> = {};
    for (const [name, convert] of fields) {
      const x: unknown = Reflect.get(v, name);
      out[name] = x === null || x === undefined ? null : convert(x);
    }
    return out;
  };
}

/** A JSON value held a key named `__proto__` (at `path`); readRowGroups names the file and rows. */
class ReservedKeyInJson extends Error {
  constructor(readonly at: string) {
    super(`a JSON value holds a key named __proto__ (at '${at}')`);
  }
}

/** A JSON column's value, parsed; one holding a key named `__proto__` is refused (see reserved-keys.ts). */
function parseJsonValue(text: string): unknown {
  const value: unknown = JSON.parse(text);
  const at = reservedKeyIn(value, text);
  if (at !== undefined) throw new ReservedKeyInJson(at);
  return value;
}

/** hyparquet string parsers that count the invalid UTF-8 they repair. */
function countingParsers() {
  let replaced = 0;
  const decode = (bytes: Uint8Array): string => {
    const text = decodeReplacing(bytes);
    if (text.indexOf("\ufffd") >= 0) replaced += replacementsIn(text, bytes);
    return text;
  };
  return {
    parsers: {
      stringFromBytes: (bytes: Uint8Array) => bytes && decode(bytes),
      jsonFromBytes: (bytes: Uint8Array) => bytes && parseJsonValue(decode(bytes)),
    },
    take(): number {
      const n = replaced;
      replaced = 0;
      return n;
    },
  };
}

function checkColumnsExist(parquet: ParquetFile, path: string, wanted: readonly string[]): void {
  for (const column of wanted) {
    if (!parquet.columns.has(column)) {
      throw new FormatError(
        "KILN_UNKNOWN_COLUMN",
        `${path}: no column '${column}' (columns: ${[...parquet.columns.keys()].join(", ")})`,
        "select only columns the file has",
      );
    }
  }
}

/**
 * Reads a parquet split as batches of row objects, one row group at a time. A split of the whole
 * file reads every row group; a byte range [start, end) reads the row groups whose first page starts
 * inside it, so the splits of a file (expandInputs) read each row group once, in file order.
 */
export async function* readParquetSplit(split: InputSplit, fs: FileSystem, opts: ReadOptions): AsyncGenerator<RecordBatch> {
  const parquet = await openParquet(fs, split.path, split.size);
  // A whole-file split owns every group: groupStart is always inside the file.
  const owns = (group: RowGroup) => {
    const start = groupStart(group, split.size);
    return split.start <= start && start < split.end;
  };
  yield* readRowGroups(parquet, split.path, opts, owns);
}

/**
 * Where a row group's first page (a dictionary page, else the first data page of any of its columns)
 * starts in a file of `size` bytes. A group with no column chunk, or an offset outside the file (a
 * writer's mistake), counts as starting at 0: the file's first split reads it, so no split skips it.
 */
function groupStart(group: RowGroup, size: number): number {
  let start = Number.POSITIVE_INFINITY;
  for (const chunk of group.columns) {
    const meta = chunk.meta_data;
    if (meta) start = Math.min(start, Number(meta.dictionary_page_offset ?? meta.data_page_offset));
  }
  return start >= 0 && start < size ? start : 0;
}

/** Every row of a parquet file held in memory (`path` names it in errors). */
export async function readParquetBytes(bytes: Uint8Array, path: string): Promise<Record<string, unknown>[]> {
  const file: AsyncBuffer = {
    byteLength: bytes.byteLength,
    // A copy: `bytes` may be a Buffer, whose slice shares (and whose .buffer is) a larger pool.
    slice: (start, end = bytes.byteLength) => Uint8Array.prototype.slice.call(bytes, start, end).buffer,
  };
  const rows: Record<string, unknown>[] = [];
  for await (const batch of readRowGroups(await parquetOf(file, path), path, {})) {
    for (const row of batch.rows) if (isRecord(row)) rows.push(row);
  }
  return rows;
}

/** What the reads of one row group share: the file, where the group lies, how pages and strings are decoded. */
type GroupRead = Omit<Parameters<typeof parquetReadObjects>[0], "columns" | "filter">;

/**
 * One row group's rows, its columns decoded by the hyparquet reads `plan` makes (see
 * parquet-prefetch.ts), the reads at once. With more than one read the rows are put together from
 * them with the columns in the file's order, as hyparquet's own rows have them. A wanted column the
 * group holds no chunk of (a file whose schema names a column it lacks) fails; with no column (a
 * read of `columns: []`), `asked` is read as one call.
 */
async function readGroup(read: GroupRead, plan: GroupReads, wanted: ReadonlySet<string>, asked: string[] | undefined): Promise<Record<string, unknown>[]> {
  if (plan.columns.length < wanted.size) {
    const missing = [...wanted].find((name) => !plan.columns.includes(name));
    throw new Error(`the row group holds no column chunk of '${missing}'`);
  }
  if (plan.reads.length === 0) return parquetReadObjects({ ...read, columns: asked });
  const parts = await Promise.all(plan.reads.map((columns) => parquetReadObjects({ ...read, columns })));
  if (parts.length === 1) return parts[0];
  const partOf = new Map(plan.reads.flatMap((columns, k) => columns.map((name): [string, Record<string, unknown>[]] => [name, parts[k]])));
  const sources = plan.columns.map((name) => partOf.get(name) ?? []);
  const count = parts[0].length;
  for (const [k, part] of parts.entries()) {
    if (part.length !== count) throw new Error(`column '${plan.reads[k][0]}' holds ${part.length} rows of the group, column '${plan.reads[0][0]}' ${count}`);
  }
  const rows = new Array<Record<string, unknown>>(count);
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = {};
    for (let c = 0; c < sources.length; c++) row[plan.columns[c]] = sources[c][i][plan.columns[c]];
    rows[i] = row;
  }
  return rows;
}

/** The file's row groups (those `owns` picks, when given) as batches of rows, which count from the file's first row. */
async function* readRowGroups(parquet: ParquetFile, path: string, opts: ReadOptions, owns?: (group: RowGroup) => boolean): AsyncGenerator<RecordBatch> {
  const batchRows = Math.max(1, opts.batchRows ?? 4096);
  // Nothing to yield, whatever columns are asked for.
  if (isColumnlessEmpty(parquet)) return;
  checkColumnsExist(parquet, path, opts.columns ?? []);
  const wanted = new Set(opts.columns ?? parquet.columns.keys());
  checkNoReservedNames(parquet.metadata, path, wanted);
  const converters = [...wanted].flatMap((name): [string, Convert][] => {
    const convert = converterFor(parquet.columns.get(name));
    return convert ? [[name, convert]] : [];
  });
  const utf8 = countingParsers();
  // A row filter may read columns beyond the wanted ones.
  const compressors = pageDecompressors(parquet.metadata, opts.filter ? undefined : wanted);
  const file = new PrefetchingBuffer(parquet.file);
  // The groups to read, each with the file row it starts at.
  const groups: { group: RowGroup; rowStart: number }[] = [];
  let rowStart = 0;
  for (const group of parquet.metadata.row_groups) {
    if (!owns || owns(group)) groups.push({ group, rowStart });
    rowStart += Number(group.num_rows);
  }
  // Each group's reads are planned once: for its read-ahead while the group before it is read, then for its own read.
  const planOf = (g: number) => groupReads(groups[g].group, wanted, opts.filter !== undefined);
  let plan = groups.length > 0 ? planOf(0) : undefined;
  for (let g = 0; g < groups.length && plan; g++) {
    const { group, rowStart } = groups[g];
    const groupRows = Number(group.num_rows);
    let rows: Record<string, unknown>[];
    try {
      const read: GroupRead = { file, metadata: parquet.metadata, rowStart, rowEnd: rowStart + groupRows, compressors, parsers: utf8.parsers };
      rows = opts.filter
        ? await parquetReadObjects({ ...read, columns: opts.columns, filter: opts.filter as never })
        : await readGroup(read, plan, wanted, opts.columns);
      // The next group's bytes are read while this group's rows are converted and taken.
      plan = g + 1 < groups.length ? planOf(g + 1) : undefined;
      if (plan) file.prefetch(plan.ranges);
      for (const row of rows) for (const [name, convert] of converters) row[name] = convert(row[name]);
    } catch (err) {
      throw decodeFailure(err, path, ` (row group starting at row ${rowStart})`);
    }
    // Bytes: the compressed size of the column chunks read, counted on the group's first batch.
    let groupBytes = 0;
    for (const chunk of group.columns) {
      const column = chunk.meta_data?.path_in_schema[0];
      if (column !== undefined && wanted.has(column)) groupBytes += Number(chunk.meta_data?.total_compressed_size ?? 0);
    }
    const invalidUtf8 = utf8.take();
    if (rows.length === 0 && (groupBytes > 0 || invalidUtf8 > 0)) yield { rows: [], firstLine: rowStart, bytes: groupBytes, rejected: 0, invalidUtf8 };
    for (let k = 0; k < rows.length; k += batchRows) {
      const first = k === 0;
      yield { rows: rows.slice(k, k + batchRows), firstLine: rowStart + k, bytes: first ? groupBytes : 0, rejected: 0, invalidUtf8: first ? invalidUtf8 : 0 };
    }
  }
}

/**
 * The schema of a parquet file, to write a sibling file (an empty part, say) with the same columns.
 * Files written by kiln carry it; for other files it is derived from the parquet columns, and a
 * column of a type kiln does not write (int32, timestamps, maps, ...) fails naming the column.
 */
export async function readParquetSchema(path: string, fs: FileSystem = fileSystemFor(path)): Promise<ParquetSchema> {
  const stat = await fs.stat(path);
  if (!stat) throw new StorageError(`${path}: no such file`, "check the path of the parquet file whose schema is wanted");
  const parquet = await openParquet(fs, path, stat.size);
  checkNoReservedNames(parquet.metadata, path);
  const schema: ParquetSchema = {};
  for (const [name, type] of parquet.columns) {
    if (!type) {
      throw new FormatError(
        "KILN_UNSUPPORTED_COLUMN",
        `${path}: column '${name}' is ${columnSignature(parquet.metadata, name, type)}, which kiln's parquet schemas have no type for`,
        "write the schema out by hand (string, int64, float64, bool, json, struct, list), or convert the column first",
      );
    }
    schema[name] = type;
  }
  return schema;
}

/**
 * Fails when the parquet files among `splits` do not share one schema (struct fields and list
 * elements included), naming both files and the column. Files written from zero rows without a
 * schema have no columns and are skipped: they hold no rows to disagree about.
 */
export async function checkSchemasAgree(splits: InputSplit[], fs?: FileSystem): Promise<void> {
  const seen = new Set<string>();
  let reference: { path: string; types: Map<string, string> } | undefined;
  for (const split of splits) {
    if (split.format !== "parquet" || seen.has(split.path)) continue;
    seen.add(split.path);
    const parquet = await openParquet(fs ?? fileSystemFor(split.path), split.path, split.size);
    if (isColumnlessEmpty(parquet)) continue;
    const types = new Map([...parquet.columns].map(([name, type]) => [name, columnSignature(parquet.metadata, name, type)]));
    if (!reference) {
      reference = { path: split.path, types };
      continue;
    }
    for (const name of new Set([...reference.types.keys(), ...types.keys()])) {
      const a = reference.types.get(name);
      const b = types.get(name);
      if (a === b) continue;
      const what = !a || !b ? `column '${name}' is only in ${a ? reference.path : split.path}` : `column '${name}' is ${a} in ${reference.path} but ${b} in ${split.path}`;
      throw new SchemaMismatchError(`parquet schemas differ between ${reference.path} and ${split.path}: ${what}`);
    }
  }
}
