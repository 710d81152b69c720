/**
 * Encoding rows as a parquet file, in JavaScript with hyparquet-writer and native zstd (zstd-napi):
 * a kiln schema becomes parquet schema elements (strings and "json" as UTF8 byte arrays, int64,
 * float64 as DOUBLE, bool as BOOLEAN, structs as groups, lists as the standard three-level LIST, every
 * field optional), and each batch of rows becomes one or more row groups of data pages v2, written
 * as soon as it is given. Top-level string columns whose first values are mostly distinct (document
 * text, ids) are written without a dictionary, and those holding long values (document text) without
 * min/max statistics: a dictionary of unique values is built only to be thrown away, and min/max of
 * whole documents helps no reader. Other columns get a dictionary when it at least halves their size.
 * The schema is stored in the file (`kiln.schema`, plus `kiln.json_columns` for readers that predate
 * it), so a file with zero rows still has every column. parquet-writer.ts decides the batches.
 */
import type { SchemaElement } from "hyparquet";
import type { ColumnSource, Writer } from "hyparquet-writer";
import { StorageError } from "./filesystem.ts";
import type { ParquetSchema, ParquetType } from "./format-types.ts";
import { GatheredColumns, needsConversion, type GatheredColumn } from "./parquet-columns.ts";
import { JSON_COLUMNS_KEY, SCHEMA_KEY } from "./parquet-schema.ts";

/** zstd level of every page: level 1 compresses documents about as well as parquet writers' default, at several times the speed of higher levels. */
const ZSTD_LEVEL = 1;
/** Rows looked at to judge a string column. */
const SHAPE_SAMPLE_ROWS = 1000;
/** Mean length (UTF-16 units) from which a column's values count as long. */
const LONG_VALUE_CHARS = 256;

/** The parquet schema elements of one field (depth-first, a group before its children). */
function schemaElements(name: string, type: ParquetType): SchemaElement[] {
  switch (type) {
    case "string":
    case "json":
      return [{ name, type: "BYTE_ARRAY", converted_type: "UTF8", logical_type: { type: "STRING" }, repetition_type: "OPTIONAL" }];
    case "int64":
      return [{ name, type: "INT64", repetition_type: "OPTIONAL" }];
    case "float64":
      return [{ name, type: "DOUBLE", repetition_type: "OPTIONAL" }];
    case "bool":
      return [{ name, type: "BOOLEAN", repetition_type: "OPTIONAL" }];
  }
  if ("list" in type) {
    return [
      { name, repetition_type: "OPTIONAL", converted_type: "LIST", logical_type: { type: "LIST" }, num_children: 1 },
      { name: "list", repetition_type: "REPEATED", num_children: 1 },
      ...schemaElements("element", type.list),
    ];
  }
  const fields = Object.entries(type.struct);
  return [{ name, repetition_type: "OPTIONAL", num_children: fields.length }, ...fields.flatMap(([field, t]) => schemaElements(field, t))];
}

function fileSchema(schema: ParquetSchema): SchemaElement[] {
  const names = Object.keys(schema);
  return [{ name: "root", num_children: names.length }, ...names.flatMap((name) => schemaElements(name, schema[name]))];
}

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

/** How one column is written: no dictionary for mostly-distinct strings, no statistics for long ones. */
interface ColumnLayout {
  name: string;
  type: ParquetType;
  encoding?: "PLAIN";
  statistics?: false;
}

function columnLayouts(schema: ParquetSchema, sample: readonly Record<string, unknown>[]): ColumnLayout[] {
  return Object.entries(schema).map(([name, type]) => {
    if (type !== "string") return { name, type };
    const shape = stringColumnShape(sample, name);
    return { name, type, ...(shape.mostlyDistinct ? { encoding: "PLAIN" as const } : {}), ...(shape.long ? { statistics: false as const } : {}) };
  });
}

type WriterModule = typeof import("hyparquet-writer");

/** A hyparquet-writer byte sink whose bytes are taken out after each row group, so it holds one row group at most. */
function chunkedWriter(module: WriterModule, chunks: Uint8Array[]): Writer {
  class ChunkedWriter extends module.ByteWriter {
    flush(): void {
      if (this.index > 0) chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
      this.index = 0;
    }
    finish(): void {
      this.flush();
    }
  }
  return new ChunkedWriter(1 << 20);
}

/**
 * One parquet file being encoded: rows are gathered into columns (`gather`, parquet-columns.ts) and
 * written as row groups of at most `rowGroupRows` rows when `flush` is called (`add` does both), and
 * the compressed bytes are kept; `finish` adds the footer and returns them all. The layout of string
 * columns (dictionary, statistics) is judged on the first rows.
 */
export class ParquetEncoder {
  private readonly chunks: Uint8Array[] = [];
  private readonly writer: InstanceType<WriterModule["ParquetWriter"]>;
  private readonly layouts: ColumnLayout[];
  private readonly gathered: GatheredColumns;
  private rows = 0;
  private aborted = false;

  private constructor(
    module: WriterModule,
    compress: (bytes: Uint8Array) => Uint8Array,
    schema: ParquetSchema,
    private readonly path: string,
    sample: readonly Record<string, unknown>[],
    private readonly rowGroupRows: number,
  ) {
    this.layouts = columnLayouts(schema, sample);
    const columns: GatheredColumn[] = this.layouts.map(({ name, type, encoding }) => ({ name, type, kind: needsConversion(type) ? "convert" : encoding === "PLAIN" ? "utf8" : "value" }));
    this.gathered = new GatheredColumns(columns, path);
    const jsonColumns = Object.keys(schema).filter((n) => schema[n] === "json");
    this.writer = new module.ParquetWriter({
      writer: chunkedWriter(module, this.chunks),
      schema: fileSchema(schema),
      codec: "ZSTD",
      compressors: { ZSTD: compress },
      statisticsTruncateLength: Infinity,
      kvMetadata: [
        { key: SCHEMA_KEY, value: JSON.stringify(schema) },
        { key: JSON_COLUMNS_KEY, value: JSON.stringify(jsonColumns) },
      ],
      createdBy: "kiln",
    });
  }

  /** Opens a file of `schema`; `sample` (the first rows) decides which string columns skip the dictionary and statistics. */
  static async open(schema: ParquetSchema, path: string, sample: readonly Record<string, unknown>[], rowGroupRows: number): Promise<ParquetEncoder> {
    const [module, { Compressor }] = await Promise.all([import("hyparquet-writer"), import("zstd-napi")]);
    const compressor = new Compressor();
    compressor.setParameters({ compressionLevel: ZSTD_LEVEL });
    return new ParquetEncoder(module, (bytes) => compressor.compress(bytes), schema, path, sample, rowGroupRows);
  }

  /** Rows gathered and not yet flushed. */
  get gatheredRows(): number {
    return this.gathered.rows;
  }

  /** Gathers one row (already checked against the schema) for the next flush. */
  gather(row: Record<string, unknown>): void {
    this.gathered.push(row, this.rows + this.gathered.rows);
  }

  /** Encodes the gathered rows as row groups of the file. */
  async flush(): Promise<void> {
    if (this.aborted) throw new StorageError(`${this.path}: write aborted`, "open a new writer");
    const count = this.gathered.rows;
    if (count === 0) return;
    const data = this.gathered.data();
    const columnData: ColumnSource[] = this.layouts.map(({ name, encoding, statistics }, c) => ({
      name,
      data: data[c],
      ...(encoding ? { encoding } : {}),
      ...(statistics === false ? { statistics } : {}),
    }));
    const firstRow = this.rows;
    this.rows += count;
    try {
      await this.writer.write({ columnData, rowGroupSize: this.rowGroupRows });
    } catch (err) {
      throw new StorageError(`${this.path}: the parquet encoder failed on rows ${firstRow}–${this.rows - 1}: ${err instanceof Error ? err.message : String(err)}`, "check the rows written to this file; the target is left untouched");
    } finally {
      this.gathered.reset();
    }
  }

  /** Encodes `rows` (already checked against the schema) as row groups of the file. */
  async add(rows: readonly Record<string, unknown>[]): Promise<void> {
    for (const row of rows) this.gather(row);
    await this.flush();
  }

  /** Ends the file: the whole file's bytes (row groups and footer). */
  async finish(): Promise<Uint8Array[]> {
    if (this.aborted) throw new StorageError(`${this.path}: write aborted`, "open a new writer");
    await this.flush();
    await this.writer.finish();
    return this.chunks;
  }

  /** Drops the file. */
  abort(): void {
    this.aborted = true;
    this.chunks.length = 0;
    this.gathered.reset();
  }
}
