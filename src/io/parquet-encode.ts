/**
 * Encoding rows as a parquet file: Arrow columns built by hand from a kiln schema (Utf8 through
 * TextEncoder, Int64/Float64/Bool typed arrays, structs as Arrow Struct data with one child per
 * field, lists as offsets plus one child column, "json" as JSON text), then written by parquet-wasm
 * with zstd. Top-level string columns whose first values are mostly distinct (document text, ids) are
 * written without a dictionary, and those holding long values (document text) without min/max
 * statistics: a dictionary of unique values is built only to be thrown away, and min/max of whole
 * documents is computed per page and helps no reader; both measured at about half of the write's CPU
 * on normalized documents. The schema is stored in the file (`kiln.schema`, plus `kiln.json_columns` for readers
 * that predate it), so a file with zero rows still has every column. apache-arrow (as one file, see
 * arrow.ts) and parquet-wasm are loaded on the first write, not when this module loads.
 */
import type { Data, DataType, RecordBatch as ArrowBatch, Utf8 } from "apache-arrow";
import { loadArrow, type Arrow } from "./arrow.ts";
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

/** Encodes rows (plain objects that fit `schema`) as one zstd-compressed parquet file. */
export async function encodeParquet(
  rows: readonly Record<string, unknown>[],
  schema: ParquetSchema,
  path: string,
  rowGroupRows: number,
): Promise<Uint8Array> {
  const [arrow, parquetWasm] = await Promise.all([loadArrow(), import("parquet-wasm")]);
  const names = Object.keys(schema);
  const arrowSchema = new arrow.Schema(names.map((name) => new arrow.Field(name, arrowType(arrow, schema[name]), true)));
  const batches: ArrowBatch[] = [];
  for (let start = 0; start === 0 || start < rows.length; start += rowGroupRows) {
    const slice = rows.slice(start, start + rowGroupRows);
    const children = names.map((name) => columnData(arrow, schema[name], slice.map((r) => r[name]), { path, column: name, firstRow: start }));
    const struct = arrow.makeData({ type: new arrow.Struct(arrowSchema.fields), length: slice.length, nullCount: 0, children });
    batches.push(new arrow.RecordBatch(arrowSchema, struct));
  }
  const ipc = arrow.tableToIPC(new arrow.Table(arrowSchema, batches), "stream");
  const jsonColumns = names.filter((n) => schema[n] === "json");
  let builder = new parquetWasm.WriterPropertiesBuilder().setCompression(parquetWasm.Compression.ZSTD).setMaxRowGroupSize(rowGroupRows);
  for (const name of names) {
    if (schema[name] !== "string") continue;
    const shape = stringColumnShape(rows, name);
    if (shape.mostlyDistinct) builder = builder.setColumnDictionaryEnabled(name, false);
    if (shape.long) builder = builder.setColumnStatisticsEnabled(name, parquetWasm.EnabledStatistics.None);
  }
  const props = builder
    .setKeyValueMetadata(
      new Map([
        [SCHEMA_KEY, JSON.stringify(schema)],
        [JSON_COLUMNS_KEY, JSON.stringify(jsonColumns)],
      ]),
    )
    .build();
  // writeParquet takes ownership of the wasm table and the properties (and frees them).
  return parquetWasm.writeParquet(parquetWasm.Table.fromIPCStream(ipc), props);
}
