/**
 * Byte-range splits of parquet files: expandInputs cuts a file larger than splitBytes into ranges,
 * and each range reads the row groups whose first page starts in it, so the splits of a file read
 * every row once, in file order, with rows numbered from the file's first row; a Dataset.read of one
 * large parquet file becomes several tasks, and its count (which reads no column) counts every row.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { expandInputs, openWriter, readSplit } from "../../src/io/formats.ts";
import { Dataset, executeDataset, where } from "../../src/index.ts";
import { readAll, tempDir } from "./helpers.ts";

let dir: string;
let file: string;
let size: number;
const ROWS = 6000;
const GROUP_ROWS = 150;

beforeAll(async () => {
  dir = await tempDir("parquet-splits");
  file = path.join(dir, "big.parquet");
  const w = openWriter(file, "parquet", { rowGroupRows: GROUP_ROWS });
  await w.write(Array.from({ length: ROWS }, (_, i) => ({ id: `doc-${i}`, n: i, text: `words of document ${i} `.repeat(1 + (i % 9)) })));
  await w.close();
  size = (await fsp.stat(file)).size;
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

describe("parquet byte-range splits", () => {
  it("split a file larger than splitBytes into ranges that read every row once, in order, numbered from the file's first row", async () => {
    const splits = await expandInputs(file, { splitBytes: Math.ceil(size / 7) });
    expect(splits.length).toBe(7);
    expect(splits[0].start).toBe(0);
    expect(splits.at(-1)!.end).toBe(size);
    for (let k = 1; k < splits.length; k++) expect(splits[k].start).toBe(splits[k - 1].end);
    const ids: number[] = [];
    let readingSplits = 0;
    for (const split of splits) {
      let rowsHere = 0;
      for await (const batch of readSplit(split, { batchRows: 100 })) {
        batch.rows.forEach((row, k) => {
          // Rows count from the file's first row in every split.
          expect((row as { n: number }).n).toBe(batch.firstLine + k);
          ids.push((row as { n: number }).n);
        });
        rowsHere += batch.rows.length;
      }
      if (rowsHere > 0) readingSplits++;
    }
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    // The groups spread over the ranges: more than one split reads rows.
    expect(readingSplits).toBeGreaterThan(3);
    const whole = await readAll({ path: file, format: "parquet", size, start: 0, end: size });
    const parts: unknown[] = [];
    for (const split of splits) parts.push(...(await readAll(split, { columns: ["text", "id"] })));
    expect(parts).toEqual(whole.map((r) => ({ id: (r as { id: string }).id, text: (r as { text: string }).text })));
  });

  it("a range in which no row group starts reads nothing, and a file within splitBytes stays one split", async () => {
    expect(await readAll({ path: file, format: "parquet", size, start: size - 8, end: size })).toEqual([]);
    expect(await expandInputs(file, { splitBytes: size })).toEqual([{ path: file, format: "parquet", size, start: 0, end: size }]);
  });

  it("Dataset.read of one large parquet file runs one task per split and counts every row", async () => {
    const ds = Dataset.read<{ id: string; n: number }>(file, { splitBytes: Math.ceil(size / 5) }).select("n");
    const { rows, counters } = await executeDataset(ds, { executor: "inline", progress: false, log: () => {} });
    expect(counters.stages[0].shards).toBe(5);
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    // A count reads no column, a count after a filter only the filter's: both still count every row once.
    const opts = { executor: "inline" as const, progress: false as const, log: () => {} };
    expect((await executeDataset(Dataset.read(file, { splitBytes: Math.ceil(size / 5) }).count(), opts)).value).toBe(ROWS);
    const filtered = Dataset.read<{ n: number }>(file, { splitBytes: Math.ceil(size / 5) }).filter(where("n", "<", 1234)).count();
    expect((await executeDataset(filtered, opts)).value).toBe(1234);
  });
});
