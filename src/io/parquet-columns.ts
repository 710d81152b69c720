/**
 * A parquet row group gathered column by column as rows arrive (`GatheredColumns`), so that a
 * writer holds a row group's values, not its rows: a plain (dictionary-less) string column's values
 * are written at once as UTF-8 into byte chunks the writer keeps and reuses (`Utf8Column`), other
 * columns keep their values, "json" and int64 ones converted as the encoder takes them. A document's
 * row (its object, its text as a string) is garbage as soon as it is gathered: a writer that held
 * its rows until a row group's worth (2 Mi characters) had come held them across young collections,
 * which copied them and promoted many (DESIGN.md, "Row groups gathered as columns").
 */
import type { ColumnSource } from "hyparquet-writer";
import { UnwritableRowError, type ParquetType } from "./format-types.ts";
import { doubled } from "../util/typed-arrays.ts";

/** Where a value comes from, for error messages. */
export interface ValueSite {
  path: string;
  column: string;
  row: number;
}

function jsonText(value: unknown, site: ValueSite): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw new UnwritableRowError(site.path, `row ${site.row}, field '${site.column}': no JSON form (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** Whether values of `type` need converting before the encoder takes them ("json" to text, int64 to bigint). */
export function needsConversion(type: ParquetType): boolean {
  if (typeof type === "string") return type === "json" || type === "int64";
  return "list" in type ? needsConversion(type.list) : Object.values(type.struct).some(needsConversion);
}

/** `value` (already checked against `type`) as the encoder takes it: "json" fields as JSON text, int64 as bigint. */
export function converted(type: ParquetType, value: unknown, site: ValueSite): unknown {
  if (value === null || value === undefined) return null;
  if (type === "json") return jsonText(value, site);
  if (type === "int64") return typeof value === "number" ? BigInt(value) : value;
  if (typeof type === "string") return value;
  if ("list" in type) return Array.isArray(value) ? value.map((item) => converted(type.list, item, site)) : null;
  if (typeof value !== "object") return null;
  const out: Record<string, unknown> = {};
  for (const [field, t] of Object.entries(type.struct)) out[field] = converted(t, Reflect.get(value, field), { ...site, column: `${site.column}.${field}` });
  return out;
}

/** Bytes of one chunk of a plain string column; a longer value gets a chunk of its own size. */
export const UTF8_CHUNK_BYTES = 1024 * 1024;

/**
 * A plain string column's values as UTF-8 in chunks that stay with the column from one row group to
 * the next (fresh memory costs a page fault per 4 KiB here), each value at a place (chunk, start,
 * length) kept as three numbers. Lone surrogates become U+FFFD, as TextEncoder writes them.
 * Statistics compare the bytes, which is the order parquet defines for strings.
 */
class Utf8Column {
  private readonly chunks: Buffer[] = [];
  private current = -1;
  private used = 0;
  /** Per value: chunk index (-1 for null), start, length; a typed array kept from group to group, grown by doubling. */
  private places = new Int32Array(3 * 1024);
  private count = 0;

  push(value: unknown, _row?: number): void {
    if (3 * this.count === this.places.length) this.places = doubled(this.places, (n) => new Int32Array(n));
    const at = 3 * this.count++;
    if (typeof value !== "string") {
      this.places[at] = -1;
      return;
    }
    const room = this.current < 0 ? 0 : this.chunks[this.current].length - this.used;
    // A UTF-16 unit takes at most 3 bytes: only a value that might not fit is measured.
    if (this.current < 0 || 3 * value.length > room) {
      const bytes = Buffer.byteLength(value, "utf8");
      if (this.current < 0 || bytes > room) this.nextChunk(bytes);
    }
    const written = this.chunks[this.current].write(value, this.used, "utf8");
    this.places[at] = this.current;
    this.places[at + 1] = this.used;
    this.places[at + 2] = written;
    this.used += written;
  }

  /** Moves to the next chunk, reusing the one there when it holds `bytes`. */
  private nextChunk(bytes: number): void {
    this.current++;
    this.used = 0;
    const next = this.chunks[this.current];
    if (next === undefined || next.length < bytes) this.chunks[this.current] = Buffer.allocUnsafeSlow(Math.max(UTF8_CHUNK_BYTES, bytes));
  }

  /** The values as views into the chunks (null where a value was not a string). */
  data(): (Uint8Array | null)[] {
    const p = this.places;
    const out: (Uint8Array | null)[] = new Array(this.count);
    for (let i = 0; i < out.length; i++) {
      const chunk = p[3 * i];
      const start = p[3 * i + 1];
      out[i] = chunk < 0 ? null : this.chunks[chunk].subarray(start, start + p[3 * i + 2]);
    }
    return out;
  }

  /** Empties the column for the next row group; its chunks stay. */
  reset(): void {
    this.current = -1;
    this.used = 0;
    this.count = 0;
  }

  /** Keeps the first `rows` values (the bytes of later ones stay unused until the next reset). */
  truncate(rows: number): void {
    this.count = rows;
  }
}

/** Values of a column that the encoder takes as they are, or converted first ("json", int64). */
class ValueColumn {
  private values: unknown[] = [];

  constructor(
    private readonly column: GatheredColumn,
    private readonly path: string,
  ) {}

  push(value: unknown, row: number): void {
    const { name, type, kind } = this.column;
    this.values.push(kind === "convert" ? converted(type, value, { path: this.path, column: name, row }) : (value ?? null));
  }

  data(): unknown[] {
    return this.values;
  }

  reset(): void {
    this.values = [];
  }

  truncate(rows: number): void {
    this.values.length = rows;
  }
}

/** How the encoder takes one column: as UTF-8 bytes (a plain string column), converted values, or values as they are. */
export type GatherKind = "utf8" | "convert" | "value";

export interface GatheredColumn {
  name: string;
  type: ParquetType;
  kind: GatherKind;
}

/** One row group's rows, gathered into columns (see the file header). */
export class GatheredColumns {
  private readonly gatherers: (Utf8Column | ValueColumn)[];
  private readonly names: string[];
  private count = 0;

  constructor(columns: readonly GatheredColumn[], path: string) {
    this.gatherers = columns.map((c) => (c.kind === "utf8" ? new Utf8Column() : new ValueColumn(c, path)));
    this.names = columns.map((c) => c.name);
  }

  /** Rows gathered so far. */
  get rows(): number {
    return this.count;
  }

  /**
   * Gathers one row (already checked against the schema); `index` is its row number in the file, for
   * errors. A value that cannot be converted fails the row, and no column keeps any of its values.
   */
  push(row: Record<string, unknown>, index: number): void {
    const { gatherers, names } = this;
    try {
      for (let c = 0; c < gatherers.length; c++) gatherers[c].push(row[names[c]], index);
    } catch (err) {
      for (const g of gatherers) g.truncate(this.count);
      throw err;
    }
    this.count++;
  }

  /** Each column's values as the encoder takes them. */
  data(): ColumnSource["data"][] {
    return this.gatherers.map((g) => g.data());
  }

  /** Empties every column for the next row group (a plain string column keeps its chunks). */
  reset(): void {
    for (const g of this.gatherers) g.reset();
    this.count = 0;
  }
}
