/**
 * ParquetWriter: a parquet file written a batch at a time. Rows are checked as they are written,
 * against the schema given or, without one, against the schema inferred from the rows so far
 * (inferParquetSchema's rules), so a bad row fails at once naming the file, the row and the field;
 * the rows before it in that call are kept (abort drops everything).
 * The first row group's rows are held until it is complete and the file's columns are laid out on
 * them; from then on each row is gathered into the encoder's columns as it comes (parquet-columns.ts:
 * a plain string column's values as UTF-8 bytes) and dropped, and each complete row group is
 * encoded: a file of any size is written in bounded memory, and its bytes reach the FileSystem
 * atomically on close. A row group holds rowGroupRows rows, or fewer when the first rows show that
 * so many would pass ROW_GROUP_UNITS (2 Mi characters of values).
 * Without a schema the file's columns are fixed when the first batch is encoded. A later row that
 * adds a column or changes one's type (a field null until then, int64 widened to float64) makes the
 * writer encode what it gathered, read back everything it encoded and hold every row until close,
 * when the file is encoded again with the schema of all the rows: the result is the file a writer
 * holding every row would write.
 */
import { StorageError, type FileSystem } from "./filesystem.ts";
import { UnwritableRowError, type ParquetSchema, type RecordWriter, type WriteResult } from "./format-types.ts";
import { readParquetBytes } from "./parquet.ts";
import { ParquetEncoder } from "./parquet-encode.ts";
import { SchemaInference, checkRow, checkSchema, isRecord } from "./parquet-schema.ts";

/**
 * The most a row group holds, in UTF-16 units of values (rowUnits): the writer holds a row group's
 * rows, and the encoder its columns and pages, so this bounds a file's memory whatever its size.
 * 2 Mi characters is a few MB of documents, large enough that per-group costs (page headers,
 * statistics, footer entries) stay small.
 */
const ROW_GROUP_UNITS = 2 * 1024 * 1024;
/** Rows that judge the string columns (dictionary, statistics). */
const SAMPLE_ROWS = 1000;

/** About how much a row holds: the length of its top-level strings plus 8 per field. */
function rowUnits(row: Record<string, unknown>): number {
  let units = 0;
  for (const key in row) {
    const value = row[key];
    units += typeof value === "string" ? value.length + 8 : 8;
  }
  return units;
}

export class ParquetWriter implements RecordWriter {
  /** Rows held as rows: the first row group's, before the encoder opens, or every row once the schema changed. */
  private pending: Record<string, unknown>[] = [];
  private pendingUnits = 0;
  /** Units of the rows gathered into the open encoder's columns. */
  private gatheredUnits = 0;
  private accepted = 0;
  private encoder: ParquetEncoder | undefined;
  /** The schema rows are encoded with: the one given, or the inferred one once the first batch is encoded. */
  private fixed: ParquetSchema | undefined;
  /** Without a schema: what the rows so far need. */
  private readonly inference: SchemaInference | undefined;
  /** Set once a row changed the inferred schema: every row is held and encoded on close. */
  private holdAll = false;
  private done = false;
  /** Rows per row group: rowGroupRows, or fewer when the first rows encoded show that many would pass ROW_GROUP_UNITS. */
  private groupRows: number;

  constructor(
    private readonly path: string,
    private readonly fs: FileSystem,
    private readonly rowGroupRows: number,
    schema?: ParquetSchema,
  ) {
    this.groupRows = rowGroupRows;
    this.fixed = schema && checkSchema(schema, path);
    this.inference = this.fixed ? undefined : new SchemaInference(path);
  }

  async write(rows: unknown[]): Promise<void> {
    this.checkOpen();
    for (let i = 0; i < rows.length; i++) {
      const row = this.record(rows[i], this.accepted);
      const changed = this.check(row, this.accepted);
      if (changed && this.encoder) await this.holdEveryRow();
      const encoder = this.encoder;
      if (encoder && !this.holdAll) {
        encoder.gather(row);
        this.gatheredUnits += rowUnits(row);
        if (encoder.gatheredRows >= this.groupRows || this.gatheredUnits >= ROW_GROUP_UNITS) await this.flushGathered(encoder);
      } else {
        this.pending.push(row);
        this.pendingUnits += rowUnits(row);
      }
      this.accepted++;
    }
    if (!this.encoder && !this.holdAll && (this.pending.length >= this.groupRows || this.pendingUnits >= ROW_GROUP_UNITS)) await this.encodePending(false);
  }

  /** Encodes the rows gathered into the open encoder's columns as a row group. */
  private async flushGathered(encoder: ParquetEncoder): Promise<void> {
    this.gatheredUnits = 0;
    await encoder.flush();
  }

  private record(row: unknown, index: number): Record<string, unknown> {
    if (isRecord(row)) return row;
    throw new UnwritableRowError(this.path, `row ${index} is ${Array.isArray(row) ? "an array" : String(row)}, not an object`);
  }

  /** Checks the `index`th row; true when it changed the inferred schema. */
  private check(row: Record<string, unknown>, index: number): boolean {
    if (!this.inference) {
      if (this.fixed) checkRow(row, this.fixed, this.path, index);
      return false;
    }
    for (const key in row) {
      const value = row[key];
      if (typeof value === "number" && !Number.isFinite(value) && Object.hasOwn(row, key)) {
        throw new UnwritableRowError(this.path, `row ${index}, field '${key}': ${value} cannot be stored`);
      }
    }
    return this.inference.add(row, index);
  }

  private checkOpen(): void {
    if (this.done) throw new StorageError(`${this.path}: writer already closed`, "open a new writer for more rows");
  }

  private schemaNow(): ParquetSchema {
    return this.fixed ?? this.inference?.schema() ?? {};
  }

  /**
   * Opens the encoder on the pending rows (the first ones) and encodes them in whole row groups of
   * groupRows; all of them when they pass ROW_GROUP_UNITS or the file is closing (`last`), else the
   * rest is gathered into the encoder's columns for the next row group.
   */
  private async encodePending(last: boolean): Promise<void> {
    this.fixed = this.schemaNow();
    const encoder = (this.encoder ??= await this.open(this.fixed, this.pending, this.pendingUnits));
    const all = last || this.pendingUnits >= ROW_GROUP_UNITS;
    const take = all ? this.pending.length : this.pending.length - (this.pending.length % this.groupRows);
    const rows = this.pending;
    this.pending = [];
    this.pendingUnits = 0;
    await encoder.add(rows.slice(0, take));
    for (let i = take; i < rows.length; i++) {
      encoder.gather(rows[i]);
      this.gatheredUnits += rowUnits(rows[i]);
    }
  }

  /** Opens the encoder; `rows` (of `units` in all) are the first rows and set the row group size. */
  private async open(schema: ParquetSchema, rows: readonly Record<string, unknown>[], units: number): Promise<ParquetEncoder> {
    const meanUnits = rows.length > 0 ? units / rows.length : 1;
    this.groupRows = Math.max(1, Math.min(this.rowGroupRows, Math.floor(ROW_GROUP_UNITS / meanUnits)));
    return ParquetEncoder.open(schema, this.path, rows.slice(0, SAMPLE_ROWS), this.groupRows);
  }

  /** A row changed the inferred schema: read back every row encoded or gathered so far and hold them all until close. */
  private async holdEveryRow(): Promise<void> {
    const encoder = this.encoder;
    if (!encoder) return;
    this.encoder = undefined;
    this.fixed = undefined;
    this.holdAll = true;
    this.gatheredUnits = 0;
    // finish() encodes the gathered rows first.
    const earlier = await readParquetBytes(Buffer.concat(await encoder.finish()), this.path);
    this.pending = earlier.concat(this.pending);
  }

  async close(): Promise<WriteResult> {
    this.checkOpen();
    this.done = true;
    if (this.holdAll) {
      const rows = this.pending;
      let units = 0;
      for (const row of rows) units += rowUnits(row);
      this.pending = [];
      this.fixed = this.schemaNow();
      this.encoder = await this.open(this.fixed, rows, units);
      for (let start = 0; start < rows.length; start += this.groupRows) await this.encoder.add(rows.slice(start, start + this.groupRows));
    } else if (!this.encoder) {
      await this.encodePending(true);
    }
    const encoder = this.encoder;
    this.encoder = undefined;
    // The encoded pieces are written as they are: joining them first would copy the whole file.
    const pieces = encoder ? await encoder.finish() : [];
    await this.fs.writeAtomic(this.path, pieces);
    let bytes = 0;
    for (const piece of pieces) bytes += piece.byteLength;
    return { path: this.path, rows: this.accepted, bytes };
  }

  async abort(): Promise<void> {
    this.done = true;
    this.pending = [];
    this.gatheredUnits = 0;
    this.encoder?.abort();
    this.encoder = undefined;
  }
}
