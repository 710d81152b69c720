// The parquet writer encodes a row group at a time, gathering rows into columns after the first: files
// larger than a row group come out whole and in order (multi-byte text across the column's byte
// chunks too), row groups are capped by size as well as by rows, a late row that changes the inferred
// schema (also in the middle of a row group being gathered) gives the file a writer holding every row
// would have written, and a row that cannot be encoded fails alone. Read back by kiln and DuckDB.
import { describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { expandInputs, inferParquetSchema, openWriter, readParquetSchema, UnwritableRowError } from "../../src/io/formats.ts";
import { UTF8_CHUNK_BYTES } from "../../src/io/parquet-columns.ts";
import { readAll, suiteDir, suiteDuckDB } from "./helpers.ts";

const tmp = suiteDir("parquet-writer");
const duck = suiteDuckDB();

async function rowGroupSizes(file: string): Promise<number[]> {
  const reader = await duck.db.runAndReadAll(`SELECT DISTINCT row_group_id, row_group_num_rows::INTEGER FROM parquet_metadata('${file}') ORDER BY row_group_id`);
  return reader.getRows().map((r) => Number(r[1]));
}

async function readBack(file: string): Promise<unknown[]> {
  const [split] = await expandInputs(file);
  return readAll(split);
}

/** Writes `rows` in calls of `perCall` rows. */
async function write(name: string, rows: Record<string, unknown>[], perCall: number, rowGroupRows?: number): Promise<string> {
  const file = path.join(tmp.path, name);
  const w = openWriter(file, "parquet", { rowGroupRows });
  for (let i = 0; i < rows.length; i += perCall) await w.write(rows.slice(i, i + perCall));
  const result = await w.close();
  expect(result.rows).toBe(rows.length);
  expect(result.bytes).toBe((await fsp.stat(file)).size);
  return file;
}

describe("ParquetWriter", () => {
  it("writes a file of many row groups from many writes, every row in order", async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => ({ id: `doc-${i}`, n: i, text: `text ${i} `.repeat(i % 9) }));
    const file = await write("many.parquet", rows, 333, 700);
    expect(await rowGroupSizes(file)).toEqual([...Array(7).fill(700), 100]);
    expect(await readBack(file)).toEqual(rows);
    const sums = await duck.db.runAndReadAll(`SELECT count(*)::INTEGER, sum(n)::BIGINT FROM '${file}'`);
    expect(sums.getRows()[0]).toEqual([5000, BigInt((4999 * 5000) / 2)]);
  });

  it("caps a row group of large rows by size, not only by rows", async () => {
    // 40 rows of 1 Mi characters: 65,536 rows a group by count, but 1 by the 2 Mi character cap.
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: i, text: String.fromCharCode(97 + (i % 26)).repeat(1 << 20) }));
    const file = await write("large.parquet", rows, 10);
    const sizes = await rowGroupSizes(file);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(40);
    expect(sizes.length).toBeGreaterThanOrEqual(20);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
    const back = await readBack(file);
    expect(back.map((r) => (r as { text: string }).text.length)).toEqual(rows.map(() => 1 << 20));
    expect(back).toEqual(rows);
  });

  it("re-encodes with the schema of all rows when a late row widens a column or adds one", async () => {
    const rows: Record<string, unknown>[] = Array.from({ length: 3000 }, (_, i) => ({ id: `doc-${i}`, n: i, note: null }));
    rows.push({ id: "late-1", n: 2.5, note: "a note" }, { id: "late-2", n: 7, extra: { deep: [1, 2] } });
    const file = await write("widened.parquet", rows, 500, 1000);
    expect(await readParquetSchema(file)).toEqual(inferParquetSchema(rows));
    expect(await readParquetSchema(file)).toEqual({ id: "string", n: "float64", note: "string", extra: "json" });
    expect(await rowGroupSizes(file)).toEqual([1000, 1000, 1000, 2]);
    const back = await readBack(file);
    expect(back).toHaveLength(3002);
    expect(back[0]).toEqual({ id: "doc-0", n: 0, note: null, extra: null });
    expect(back[2999]).toEqual({ id: "doc-2999", n: 2999, note: null, extra: null });
    expect(back.slice(3000)).toEqual([
      { id: "late-1", n: 2.5, note: "a note", extra: null },
      { id: "late-2", n: 7, note: null, extra: { deep: [1, 2] } },
    ]);
  });

  it("re-encodes everything when the schema changes in the middle of a row group being gathered", async () => {
    const rows: Record<string, unknown>[] = Array.from({ length: 3000 }, (_, i) => ({ id: `doc-${i}`, n: i === 2500 ? 2.5 : i, text: `text ${i} é€😀 `.repeat(1 + (i % 7)) }));
    const file = await write("widened-mid-group.parquet", rows, 300, 1000);
    expect(await readParquetSchema(file)).toEqual({ id: "string", n: "float64", text: "string" });
    expect(await rowGroupSizes(file)).toEqual([1000, 1000, 1000]);
    expect(await readBack(file)).toEqual(rows);
  });

  it("gathers multi-byte text into byte chunks row group after row group, nulls and empty strings kept", async () => {
    const piece = (i: number) => ["é", "€", "😀", "a", "\u{1F9F1}", "中文"][i % 6];
    const rows = Array.from({ length: 4000 }, (_, i) => ({ id: `doc-${i}`, text: i % 97 === 0 ? null : i % 89 === 0 ? "" : `${i}:` + Array.from({ length: 50 + ((i * 37) % 500) }, (_, k) => piece(i + k)).join("") }));
    const file = await write("chunks.parquet", rows, 250, 1500);
    expect(await rowGroupSizes(file)).toEqual([1500, 1500, 1000]);
    expect(await readBack(file)).toEqual(rows);
    // A chunk left with 100 bytes, then a value of 60 characters in 180 bytes: it goes to the next chunk whole.
    const edge = [{ text: "a".repeat(UTF8_CHUNK_BYTES - 100) }, { text: "€".repeat(60) }, ...Array.from({ length: 20 }, (_, i) => ({ text: `short ${i}` }))];
    expect(await readBack(await write("chunk-edge.parquet", edge, 5))).toEqual(edge);
  });

  it("a row with a value that has no JSON form fails naming it; the rows before it are written whole", async () => {
    const file = path.join(tmp.path, "no-json-form.parquet");
    const w = openWriter(file, "parquet", { rowGroupRows: 100 });
    const before = Array.from({ length: 250 }, (_, i) => ({ id: `doc-${i}`, meta: { a: i } }));
    await w.write(before);
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    await expect(w.write([{ id: "ok", meta: { a: 1 } }, { id: "bad", meta: circular }])).rejects.toThrow(/no-json-form\.parquet: row 251, field 'meta': no JSON form/);
    expect((await w.close()).rows).toBe(251);
    expect(await readBack(file)).toEqual([...before, { id: "ok", meta: { a: 1 } }]);
  });

  it("names the row and field of a late row that conflicts with the earlier ones, and leaves no file on abort", async () => {
    const file = path.join(tmp.path, "conflict.parquet");
    const w = openWriter(file, "parquet", { rowGroupRows: 100 });
    await w.write(Array.from({ length: 250 }, (_, i) => ({ id: `doc-${i}`, flag: i % 2 === 0 })));
    await expect(w.write([{ id: "x", flag: "yes" }])).rejects.toThrow(UnwritableRowError);
    await expect(w.write([{ id: "x", flag: "yes" }])).rejects.toThrow(/conflict\.parquet: row 250, field 'flag': string value in a column of bool values/);
    await w.abort();
    await expect(fsp.access(file)).rejects.toThrow();
  });

  it("checks rows against a given schema as they are written, across row groups", async () => {
    const file = path.join(tmp.path, "typed.parquet");
    const w = openWriter(file, "parquet", { rowGroupRows: 64, schema: { id: "string", n: "int64" } });
    await w.write(Array.from({ length: 200 }, (_, i) => ({ id: `doc-${i}`, n: i })));
    await expect(w.write([{ id: "bad", n: "seven" }])).rejects.toThrow(/typed\.parquet: row 200, field 'n': expected int64, found string "seven"/);
    await w.write([{ id: "last", n: 200 }]);
    await w.close();
    expect(await rowGroupSizes(file)).toEqual([64, 64, 64, 9]);
    const back = await readBack(file);
    expect(back.at(-1)).toEqual({ id: "last", n: 200 });
    expect(back).toHaveLength(201);
  });
});
