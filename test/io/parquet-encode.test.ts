// How string columns are laid out in written parquet: mostly-distinct columns without a dictionary,
// long-text columns without min/max statistics, others as parquet's defaults. Read back by DuckDB.
import { describe, expect, it } from "vitest";
import * as path from "node:path";
import { readFileSync } from "node:fs";
import { openWriter } from "../../src/io/formats.ts";
import { readParquetBytes } from "../../src/io/parquet.ts";
import { suiteDir, suiteDuckDB } from "./helpers.ts";

const tmp = suiteDir("parquet-encode");
const duck = suiteDuckDB();

interface ChunkFacts {
  encodings: string;
  hasStats: boolean;
}

async function chunkFacts(file: string): Promise<Record<string, ChunkFacts>> {
  const reader = await duck.db.runAndReadAll(
    `SELECT path_in_schema, encodings, stats_min_value IS NOT NULL AS has_stats FROM parquet_metadata('${file}') WHERE row_group_id = 0`,
  );
  return Object.fromEntries(reader.getRows().map(([name, encodings, hasStats]) => [String(name), { encodings: String(encodings), hasStats: hasStats === true }]));
}

describe("parquet string column layout", () => {
  it("writes unique long texts without a dictionary or statistics, and keeps both for a repeated short column", async () => {
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      id: `doc-${String(i).padStart(6, "0")}`,
      text: `document ${i} `.repeat(40),
      source: i % 3 === 0 ? "web" : "books",
    }));
    const file = path.join(tmp.path, "docs.parquet");
    const w = openWriter(file, "parquet");
    await w.write(rows);
    await w.close();
    const facts = await chunkFacts(file);
    expect(facts.text.encodings).not.toMatch(/DICTIONARY/);
    expect(facts.text.hasStats).toBe(false);
    expect(facts.id.encodings).not.toMatch(/DICTIONARY/);
    expect(facts.id.hasStats).toBe(true);
    expect(facts.source.encodings).toMatch(/DICTIONARY/);
    expect(facts.source.hasStats).toBe(true);
    const back = await duck.db.runAndReadAll(`SELECT count(*)::INTEGER, count(DISTINCT text)::INTEGER, min(id), max(source) FROM '${file}'`);
    expect(back.getRows()[0]).toEqual([2000, 2000, "doc-000000", "web"]);
  });

  it("gives each row group of a column without a dictionary the min and max of its values in code-point order", async () => {
    const ids = ["", "é", "z", "\u{1F600}", "\uffff", "a\u{1F600}", "a\uffff"];
    const rows = Array.from({ length: 3000 }, (_, i) => ({
      id: i % 101 === 0 ? null : `${ids[i % ids.length]}${(i * 7919) % 3001}`,
      text: `document ${i} `.repeat(180),
    }));
    const file = path.join(tmp.path, "bounds.parquet");
    const w = openWriter(file, "parquet");
    await w.write(rows);
    await w.close();
    const groups = (
      await duck.db.runAndReadAll(
        `SELECT row_group_num_rows::INTEGER, stats_min_value, stats_max_value FROM parquet_metadata('${file}') WHERE path_in_schema = 'id' ORDER BY row_group_id`,
      )
    ).getRows();
    expect(groups.length).toBeGreaterThan(1);
    expect((await chunkFacts(file)).id.encodings).not.toMatch(/DICTIONARY/);
    let start = 0;
    for (const [count, min, max] of groups) {
      const values = rows.slice(start, start + Number(count)).flatMap((r) => (r.id === null ? [] : [r.id]));
      const byCodePoint = values.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
      expect([min, max]).toEqual([byCodePoint[0], byCodePoint.at(-1)]);
      start += Number(count);
    }
    expect(start).toBe(rows.length);
  });

  it("writes a column without a dictionary as each value's UTF-8, nulls and empty strings kept, a lone surrogate as U+FFFD", async () => {
    const texts = ["", "plain ascii", "é and ñ", "\u{1F600} astral", "lone \ud800 high", "lone \udc00 low", "ends high \ud83d", "中文 text"];
    const rows = Array.from({ length: 1200 }, (_, i) => ({ id: `r${i}`, text: i % 97 === 5 ? null : `${texts[i % texts.length]} ${i}` }));
    const file = path.join(tmp.path, "utf8.parquet");
    const w = openWriter(file, "parquet");
    await w.write(rows);
    await w.close();
    expect((await chunkFacts(file)).text.encodings).not.toMatch(/DICTIONARY/);
    const back = await readParquetBytes(readFileSync(file), file);
    expect(back.map((r) => r.text)).toEqual(rows.map((r) => (r.text === null ? null : r.text.replace(/\p{Surrogate}/gu, "\ufffd"))));
    const bytes = await duck.db.runAndReadAll(`SELECT sum(strlen(text))::INTEGER FROM '${file}'`);
    expect(bytes.getRows()[0][0]).toBe(rows.reduce((n, r) => n + (r.text === null ? 0 : Buffer.byteLength(r.text)), 0));
  });
});
