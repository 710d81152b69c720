/**
 * Files kiln writes must be readable by other tools: DuckDB reads the jsonl.zst and parquet outputs
 * and must see exactly the rows that were written (as a multiset).
 */
import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { openWriter } from "../../src/io/formats.ts";
import { duckdbColumnTypes, multiset, suiteDir, suiteDuckDB } from "./helpers.ts";

const tmp = suiteDir("duckdb");
const duck = suiteDuckDB();

function makeRows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    text: i % 11 === 0 ? null : `row ${i}: "quoted", ünïcödé ✓ ${"x".repeat(i % 13)}`,
    tokens: i * 7 - 300,
    score: i / 3,
    keep: i % 4 !== 0,
    meta: { lang: i % 2 ? "en" : "de", parts: [i, i * 2] },
  }));
}

/** DuckDB's JS values: bigints to numbers (all small here). */
function normalise(row: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(row, (_k, v) => (typeof v === "bigint" ? Number(v) : v)));
}

describe("DuckDB reads kiln's outputs", () => {
  it("jsonl.zst: same row multiset", async () => {
    const rows = makeRows(3000);
    const file = path.join(tmp.path, "out.jsonl.zst");
    const w = openWriter(file, "jsonl.zst");
    for (let i = 0; i < rows.length; i += 1000) await w.write(rows.slice(i, i + 1000));
    await w.close();
    const reader = await duck.db.runAndReadAll(
      `SELECT id, text, tokens, score, keep, meta FROM read_json('${file}', format = 'newline_delimited', compression = 'zstd')`,
    );
    const got = reader.getRowObjectsJS().map(normalise);
    expect(got.length).toBe(rows.length);
    expect(multiset(got)).toEqual(multiset(rows));
  });

  it("parquet: same row multiset, nested values as JSON text", async () => {
    const rows = makeRows(5000);
    const file = path.join(tmp.path, "out.parquet");
    const w = openWriter(file, "parquet", { rowGroupRows: 2000 });
    await w.write(rows);
    await w.close();
    const reader = await duck.db.runAndReadAll(`SELECT id, text, tokens, score, keep, meta FROM read_parquet('${file}')`);
    const got = reader.getRowObjectsJS().map((r) => normalise({ ...r, meta: JSON.parse(String(r.meta)) }));
    expect(got.length).toBe(rows.length);
    expect(multiset(got)).toEqual(multiset(rows));
    expect(await duckdbColumnTypes(duck.db, `read_parquet('${file}')`)).toEqual({
      id: "VARCHAR",
      text: "VARCHAR",
      tokens: "BIGINT",
      score: "DOUBLE",
      keep: "BOOLEAN",
      meta: "VARCHAR",
    });
  });

  it("parquet with a schema: lists and structs as DuckDB's own types, null apart from empty at every depth", async () => {
    const file = path.join(tmp.path, "typed.parquet");
    const schema = { id: "string", n: "int64", tags: { list: "string" }, meta: { struct: { a: "int64", b: { list: { struct: { c: "string" } } } } } } as const;
    const w = openWriter(file, "parquet", { schema, rowGroupRows: 2 });
    await w.write([
      { id: "a", n: 1, tags: ["p", "q"], meta: { a: 5, b: [{ c: "x" }, { c: null }] } },
      { id: "b", n: null, tags: [], meta: null },
      { id: "c", n: 2 ** 53 - 1, tags: null, meta: { a: null, b: [] } },
      { id: "d", n: -7, tags: [null, "z"], meta: { a: 1, b: null } },
      { id: "e", n: 0, tags: ["only"], meta: { a: 2, b: [null, { c: "y" }] } },
    ]);
    await w.close();
    const reader = await duck.db.runAndReadAll(`SELECT id, n, tags, meta FROM read_parquet('${file}') ORDER BY id`);
    expect(reader.getRowsJson()).toEqual([
      ["a", "1", ["p", "q"], { a: "5", b: [{ c: "x" }, { c: null }] }],
      ["b", null, [], null],
      ["c", "9007199254740991", null, { a: null, b: [] }],
      ["d", "-7", [null, "z"], { a: "1", b: null }],
      ["e", "0", ["only"], { a: "2", b: [null, { c: "y" }] }],
    ]);
    expect(await duckdbColumnTypes(duck.db, `read_parquet('${file}')`)).toEqual({
      id: "VARCHAR",
      n: "BIGINT",
      tags: "VARCHAR[]",
      meta: "STRUCT(a BIGINT, b STRUCT(c VARCHAR)[])",
    });
  });
});
