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
});
