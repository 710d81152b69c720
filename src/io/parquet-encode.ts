/**
 * Encoding rows as a parquet file: Arrow columns built by hand from a kiln schema (Utf8 through
 * TextEncoder, Int64/Float64/Bool typed arrays, structs as Arrow Struct data with one child per
 * field, lists as offsets plus one child column, "json" as JSON text), then written by parquet-wasm
 * with zstd. Top-level string columns whose first values are mostly distinct (document text, ids) are
 * written without a dictionary, and those holding long values (document text) without min/max
 * statistics: a dictionary of unique values is built only to be thrown away, and min/max of whole
 * documents is computed per page and helps no reader; both measured at about half of the write's CPU
 * on normalized documents. The schema is stored in the file (`kiln.schema`, plus `kiln.json_columns` for readers
 * that predate it), so a file with zero rows still has every column. `ParquetEncoder` feeds the rows
 * a batch at a time to parquet-wasm's streaming writer (parquet-writer.ts decides the batches).
 * apache-arrow (as one file, see arrow.ts) and parquet-wasm are loaded on the first write, not when
 * this module loads.
 */
import type { Data, DataType, Schema as ArrowSchema, Utf8 } from "apache-arrow";
import { loadArrow, type Arrow } from "./arrow.ts";
import { StorageError } from "./filesystem.ts";
import { UnwritableRowError, type ParquetSchema, type ParquetType } from "./format-types.ts";
import { JSON_COLUMNS_KEY, SCHEMA_KEY } from "./parquet-schema.ts";

function validity(values: readonly unknown[]): { nullBitmap: Uint8Array; nullCount: number } {
  const nullBitmap = new Uint8Array((values.length + 7) >> 3);
  let nullCount = 0;
  for (let i = 0; i < values.length; i++) {
    if (values[i] === null || values[i] === undefined) nullCount++;
    else nullBitmap[i >> 3] |= 1 << (i & 7);
  }
  return { nullBitmap, nullCount };
}

function utf8Data(arrow: Arrow, texts: readonly (string | null)[]): Data<Utf8> {
  const encoder = new TextEncoder();
  const valueOffsets = new Int32Array(texts.length + 1);
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
    valueOffsets[i + 1] = used;
  }
  return arrow.makeData({ type: new arrow.Utf8(), length: texts.length, ...validity(texts), valueOffsets, data: bytes.subarray(0, used) });
}

/** JSON text of each value; `column` and `firstRow` name the row in errors. */
function jsonTexts(values: readonly unknown[], path: string, column: string, firstRow: number): (string | null)[] {
  return values.map((v, i) => {
    if (v === null || v === undefined) return null;
    try {
      return JSON.stringify(v);
    } catch (err) {
      throw new UnwritableRowError(path, `row ${firstRow + i}, field '${column}': no JSON form (${err instanceof Error ? err.message : String(err)})`);
    }
  });
}

function arrowType(arrow: Arrow, type: ParquetType): DataType {
  switch (type) {
    case "float64":
      return new arrow.Float64();
    case "int64":
      return new arrow.Int64();
    case "bool":
      return new arrow.Bool();
    case "string":
    case "json":
      return new arrow.Utf8();
  }
  return "list" in type ? listType(arrow, type.list) : structType(arrow, type.struct);
}

function listType(arrow: Arrow, item: ParquetType) {
  return new arrow.List(new arrow.Field("item", arrowType(arrow, item), true));
}

function structType(arrow: Arrow, fields: Record<string, ParquetType>) {
  return new arrow.Struct(Object.entries(fields).map(([name, field]) => new arrow.Field(name, arrowType(arrow, field), true)));
}

/** Where a column's values come from, for error messages. */
interface ColumnSite {
  path: string;
  column: string;
  firstRow: number;
}

function fieldOf(value: unknown, name: string): unknown {
  return value !== null && typeof value === "object" && name in value ? Reflect.get(value, name) : null;
}

/** Arrow data for `values` (already checked against `type`, or inferred from them). */
function columnData(arrow: Arrow, type: ParquetType, values: readonly unknown[], site: ColumnSite): Data {
  const n = values.length;
  switch (type) {
    case "float64": {
      const data = new Float64Array(n);
      values.forEach((v, i) => (data[i] = typeof v === "number" ? v : 0));
      return arrow.makeData({ type: new arrow.Float64(), length: n, ...validity(values), data });
    }
    case "int64": {
      const data = new BigInt64Array(n);
      values.forEach((v, i) => (data[i] = typeof v === "number" || typeof v === "bigint" ? BigInt(v) : 0n));
      return arrow.makeData({ type: new arrow.Int64(), length: n, ...validity(values), data });
    }
    case "bool": {
      const data = new Uint8Array((n + 7) >> 3);
      values.forEach((v, i) => {
        if (v === true) data[i >> 3] |= 1 << (i & 7);
      });
      return arrow.makeData({ type: new arrow.Bool(), length: n, ...validity(values), data });
    }
    case "json":
      return utf8Data(arrow, jsonTexts(values, site.path, site.column, site.firstRow));
    case "string":
      return utf8Data(arrow, values.map((v) => (v === null || v === undefined ? null : String(v))));
  }
  if ("list" in type) {
    const valueOffsets = new Int32Array(n + 1);
    const items: unknown[] = [];
    values.forEach((v, i) => {
      if (Array.isArray(v)) for (const item of v) items.push(item);
      valueOffsets[i + 1] = items.length;
    });
    const child = columnData(arrow, type.list, items, { ...site, column: `${site.column}[]` });
    return arrow.makeData({ type: listType(arrow, type.list), length: n, ...validity(values), valueOffsets, child });
  }
  const children = Object.entries(type.struct).map(([name, field]) =>
    columnData(arrow, field, values.map((v) => fieldOf(v, name)), { ...site, column: `${site.column}.${name}` }),
  );
  return arrow.makeData({ type: structType(arrow, type.struct), length: n, ...validity(values), children });
}

/** Rows looked at to judge a string column. */
const SHAPE_SAMPLE_ROWS = 1000;
/** Mean length (UTF-16 units) from which a column's values count as long. */
const LONG_VALUE_CHARS = 256;

/** Whether a string column's first values are mostly distinct, and whether they are long. */
function stringColumnShape(rows: readonly Record<string, unknown>[], name: string): { mostlyDistinct: boolean; long: boolean } {
  const seen = new Set<string>();
  let present = 0;
  let chars = 0;
  for (let i = 0; i < rows.length && i < SHAPE_SAMPLE_ROWS; i++) {
    const v = rows[i][name];
    if (typeof v !== "string") continue;
    present++;
    chars += v.length;
    seen.add(v);
  }
  return { mostlyDistinct: present >= 16 && seen.size > present / 2, long: present > 0 && chars / present >= LONG_VALUE_CHARS };
}

type ParquetWasm = typeof import("parquet-wasm");

function writerProperties(parquetWasm: ParquetWasm, schema: ParquetSchema, sample: readonly Record<string, unknown>[], rowGroupRows: number) {
  const names = Object.keys(schema);
  let builder = new parquetWasm.WriterPropertiesBuilder().setCompression(parquetWasm.Compression.ZSTD).setMaxRowGroupSize(rowGroupRows);
  for (const name of names) {
    if (schema[name] !== "string") continue;
    const shape = stringColumnShape(sample, name);
    if (shape.mostlyDistinct) builder = builder.setColumnDictionaryEnabled(name, false);
    if (shape.long) builder = builder.setColumnStatisticsEnabled(name, parquetWasm.EnabledStatistics.None);
  }
  const jsonColumns = names.filter((n) => schema[n] === "json");
  const metadata = new Map([
    [SCHEMA_KEY, JSON.stringify(schema)],
    [JSON_COLUMNS_KEY, JSON.stringify(jsonColumns)],
  ]);
  return builder.setKeyValueMetadata(metadata).build();
}

/**
 * One parquet file being encoded: rows go in a batch at a time (`add`), each turned into Arrow
 * columns and handed to parquet-wasm's streaming writer, which closes a row group every
 * `rowGroupRows` rows and keeps only that row group's compressed pages; the file's bytes come out as
 * row groups close, and `finish` returns them with the footer. What a batch costs in memory is freed
 * once the writer has taken it, so a file of any size is encoded in about one batch plus one
 * compressed row group. The writer properties (dictionary and statistics per string column) are
 * judged on the first batch.
 */
export class ParquetEncoder {
  private readonly chunks: Uint8Array[] = [];
  /** The file's Arrow schema, built once for every batch. */
  private readonly arrowSchema: ArrowSchema;
  private readonly drained: Promise<void>;
  private readonly input: ReadableStreamDefaultController<unknown>;
  /** Resolves when parquet-wasm asks for the next batch, that is, has taken every batch given so far. */
  private nextWanted: (() => void) | undefined;
  private rows = 0;
  private batches = 0;

  private constructor(
    private readonly arrow: Arrow,
    private readonly parquetWasm: ParquetWasm,
    private readonly schema: ParquetSchema,
    private readonly path: string,
    sample: readonly Record<string, unknown>[],
    rowGroupRows: number,
  ) {
    this.arrowSchema = new arrow.Schema(Object.keys(schema).map((name) => new arrow.Field(name, arrowType(arrow, schema[name]), true)));
    let controller: ReadableStreamDefaultController<unknown> | undefined;
    const batches = new ReadableStream<unknown>({ start: (c) => void (controller = c), pull: () => this.nextWanted?.() }, { highWaterMark: 0 });
    if (!controller) throw new Error("ReadableStream did not call start");
    this.input = controller;
    // transformParquetStream resolves once it has read the first batch, so the bytes are drained from a task of their own.
    const output = parquetWasm.transformParquetStream(batches, writerProperties(parquetWasm, schema, sample, rowGroupRows));
    this.drained = (async () => {
      const reader = (await output).getReader();
      for (let r = await reader.read(); !r.done; r = await reader.read()) if (r.value instanceof Uint8Array) this.chunks.push(r.value);
    })().catch((err: unknown) => {
      throw new StorageError(`${path}: parquet-wasm failed to encode the file: ${err instanceof Error ? err.message : String(err)}`, "check the rows written to this file; the target is left untouched");
    });
    // Failures surface in add/finish; never as an unhandled rejection.
    this.drained.catch(() => undefined);
  }

  /** Opens a file of `schema`; `sample` (the first rows) decides which string columns skip the dictionary and statistics. */
  static async open(schema: ParquetSchema, path: string, sample: readonly Record<string, unknown>[], rowGroupRows: number): Promise<ParquetEncoder> {
    const [arrow, parquetWasm] = await Promise.all([loadArrow(), import("parquet-wasm")]);
    return new ParquetEncoder(arrow, parquetWasm, schema, path, sample, rowGroupRows);
  }

  /** Encodes `rows` (already checked against the schema); resolves once parquet-wasm has taken them. */
  async add(rows: readonly Record<string, unknown>[]): Promise<void> {
    const arrow = this.arrow;
    const arrowSchema = this.arrowSchema;
    const names = Object.keys(this.schema);
    const children = names.map((name) => columnData(arrow, this.schema[name], rows.map((r) => r[name]), { path: this.path, column: name, firstRow: this.rows }));
    const struct = arrow.makeData({ type: new arrow.Struct(arrowSchema.fields), length: rows.length, nullCount: 0, children });
    const ipc = arrow.tableToIPC(new arrow.Table(arrowSchema, [new arrow.RecordBatch(arrowSchema, struct)]), "stream");
    this.rows += rows.length;
    const table = this.parquetWasm.Table.fromIPCStream(ipc);
    const taken = new Promise<void>((resolve) => (this.nextWanted = resolve));
    const batches = table.recordBatches();
    for (const batch of batches) this.input.enqueue(batch);
    table.free();
    this.batches += batches.length;
    // The drain only ends early on a failure, which it then reports.
    if (batches.length > 0) await Promise.race([taken, this.drained]);
  }

  /** Ends the file: the whole file's bytes (row groups and footer). */
  async finish(): Promise<Uint8Array[]> {
    // The first batch gives parquet-wasm the schema, so a file of zero rows gets one of zero rows.
    if (this.batches === 0) await this.add([]);
    this.input.close();
    await this.drained;
    return this.chunks;
  }

  /** Drops the file. */
  abort(): void {
    try {
      this.input.error(new Error(`${this.path}: write aborted`));
    } catch {
      // already closed or errored
    }
  }
}
