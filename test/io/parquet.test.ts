import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import {
  checkSchemasAgree,
  CorruptFileError,
  expandInputs,
  openWriter,
  readSplit,
  SchemaMismatchError,
  UnwritableRowError,
} from "../../src/io/formats.ts";
import { readAll, tempDir } from "./helpers.ts";

let dir: string;
beforeAll(async () => {
  dir = await tempDir("parquet");
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

function makeRows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    text: i % 7 === 0 ? null : `text ${i} ✓ ${"é".repeat(i % 5)}`,
    tokens: i * 3,
    score: i / 8,
    keep: i % 2 === 0,
    ...(i % 3 === 0 ? { meta: { lang: i % 2 ? "en" : "fr", spans: [i, i + 1] } } : {}),
  }));
}

async function writeParquet(name: string, rows: unknown[], rowGroupRows?: number): Promise<string> {
  const target = path.join(dir, name);
  const w = openWriter(target, "parquet", { rowGroupRows });
  await w.write(rows);
  const result = await w.close();
  expect(result.rows).toBe(rows.length);
  expect(result.bytes).toBe((await fsp.stat(target)).size);
  return target;
}

describe("parquet", () => {
  it("round-trips rows, nulls, ints, floats, booleans and nested values across row groups", async () => {
    const rows = makeRows(1000);
    const file = await writeParquet("rt.parquet", rows, 300);
    const [split] = await expandInputs(file);
    const got = await readAll(split);
    const expected = rows.map((r) => ({ meta: null, ...r }));
    expect(got.length).toBe(1000);
    for (let i = 0; i < rows.length; i++) expect(got[i]).toEqual({ ...expected[i], meta: (rows[i] as { meta?: unknown }).meta ?? null });
    const batches = [];
    let bytes = 0;
    for await (const b of readSplit(split, { batchRows: 250 })) {
      batches.push([b.firstLine, b.rows.length]);
      bytes += b.bytes;
    }
    expect(bytes).toBeGreaterThan(1000);
    expect(bytes).toBeLessThan(split.size);
    let idBytes = 0;
    for await (const b of readSplit(split, { columns: ["id"] })) idBytes += b.bytes;
    expect(idBytes).toBeGreaterThan(0);
    expect(idBytes).toBeLessThan(bytes);
    expect(batches).toEqual([
      [0, 250],
      [250, 50],
      [300, 250],
      [550, 50],
      [600, 250],
      [850, 50],
      [900, 100],
    ]);
  });

  it("reads only the requested columns and pushes a filter down", async () => {
    const file = path.join(dir, "rt.parquet");
    const [split] = await expandInputs(file);
    const got = await readAll(split, { columns: ["id", "tokens"] });
    expect(got[5]).toEqual({ id: "doc-5", tokens: 15 });
    const filtered = await readAll(split, { columns: ["id", "tokens"], filter: { tokens: { $lt: 9 } } });
    expect(filtered).toEqual([
      { id: "doc-0", tokens: 0 },
      { id: "doc-1", tokens: 3 },
      { id: "doc-2", tokens: 6 },
    ]);
    await expect(readAll(split, { columns: ["nope"] })).rejects.toThrow(/rt\.parquet: no column 'nope'/);
  });

  it("writes an empty file that reads back empty", async () => {
    const file = await writeParquet("empty.parquet", []);
    const [split] = await expandInputs(file);
    expect(await readAll(split)).toEqual([]);
  });

  it("rejects rows it cannot store, naming the field", async () => {
    const w = openWriter(path.join(dir, "bad.parquet"), "parquet");
    // Without a schema a row that conflicts with the earlier rows fails as it is written.
    await expect(w.write([{ a: 1 }, { a: "x" }])).rejects.toThrow(UnwritableRowError);
    await expect(w.write([{ a: "y" }])).rejects.toThrow(/bad.parquet: row 1, field 'a': string value in a column of int64 values/);
    await w.abort();
    const w2 = openWriter(path.join(dir, "bad2.parquet"), "parquet");
    await expect(w2.write([{ a: NaN }])).rejects.toThrow(/field 'a'/);
    await expect(w2.write([[1, 2]])).rejects.toThrow(/not an object/);
    await w2.abort();
    await expect(fsp.access(path.join(dir, "bad.parquet"))).rejects.toThrow();
  });

  it("a truncated parquet file fails naming the file", async () => {
    const good = await fsp.readFile(path.join(dir, "rt.parquet"));
    for (const [name, bytes] of [
      ["cut-tail.parquet", good.subarray(0, good.length - 10)],
      ["cut-half.parquet", good.subarray(0, good.length >> 1)],
    ] as const) {
      const file = path.join(dir, name);
      await fsp.writeFile(file, bytes);
      const [split] = await expandInputs(file);
      const err = await readAll(split).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CorruptFileError);
      expect((err as Error).message).toContain(file);
    }
  });

  it("a damaged data page fails naming the file", async () => {
    const good = Buffer.from(await fsp.readFile(path.join(dir, "rt.parquet")));
    good.fill(0xaa, 8, 400);
    const file = path.join(dir, "damaged.parquet");
    await fsp.writeFile(file, good);
    const [split] = await expandInputs(file);
    await expect(readAll(split)).rejects.toThrow(file);
  });

  it("checkSchemasAgree accepts equal schemas and names both files and the column otherwise", async () => {
    const a = await writeParquet("s/a.parquet", [{ id: "1", n: 1 }]);
    await writeParquet("s/b.parquet", [{ id: "2", n: 2 }]);
    await checkSchemasAgree(await expandInputs(`${dir}/s/*.parquet`));
    const c = await writeParquet("s/c.parquet", [{ id: "3", n: 2.5 }]);
    const err = await checkSchemasAgree(await expandInputs(`${dir}/s/*.parquet`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaMismatchError);
    expect((err as Error).message).toContain(a);
    expect((err as Error).message).toContain(c);
    expect((err as Error).message).toContain("column 'n'");
    const d = await writeParquet("t/d.parquet", [{ id: "3" }]);
    await writeParquet("t/e.parquet", [{ id: "3", extra: true }]);
    await expect(checkSchemasAgree(await expandInputs(`${dir}/t/*.parquet`))).rejects.toThrow(
      new RegExp(`${d}.*column 'extra' is only in .*e\\.parquet`),
    );
  });
});

describe("parquet files written from zero rows", () => {
  it("read as empty whatever columns are asked for", async () => {
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { openWriter, readSplit, expandInputs } = await import("../../src/io/formats.ts");
    const dir = mkdtempSync(`${tmpdir()}/kiln-empty-parquet-`);
    const w = openWriter(`${dir}/empty.parquet`, "parquet");
    await w.write([]);
    await w.close();
    const [split] = await expandInputs(`${dir}/empty.parquet`);
    const rows: unknown[] = [];
    for await (const b of readSplit(split, { columns: ["id", "attributes"] })) rows.push(...b.rows);
    expect(rows).toEqual([]);
  });
});
