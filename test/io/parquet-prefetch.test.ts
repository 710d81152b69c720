import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parquetMetadataAsync, type AsyncBuffer } from "hyparquet";
import { openWriter } from "../../src/io/formats.ts";
import { groupByteRange, PrefetchingBuffer } from "../../src/io/parquet-prefetch.ts";
import { readAll, tempDir } from "./helpers.ts";

let dir: string;
let file: string;
let bytes: Buffer;
const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `doc-${i}`, text: `text ${i} ${"é".repeat(i % 9)}`, n: i }));

beforeAll(async () => {
  dir = await tempDir("parquet-prefetch");
  file = path.join(dir, "three-groups.parquet");
  const w = openWriter(file, "parquet", { rowGroupRows: 1000 });
  await w.write(rows);
  await w.close();
  bytes = await fsp.readFile(file);
});
afterAll(async () => {
  await fsp.rm(dir, { recursive: true, force: true });
});

/** The file's bytes as an AsyncBuffer that records every read. */
function countingBuffer(reads: [number, number][], fail = false): AsyncBuffer {
  return {
    byteLength: bytes.length,
    async slice(start: number, end = bytes.length) {
      reads.push([start, end]);
      if (fail) throw new Error("disk gone");
      return Uint8Array.prototype.slice.call(bytes, start, end).buffer;
    },
  };
}

describe("reading the next parquet row group ahead", () => {
  it("covers exactly the wanted column chunks of a group", async () => {
    const metadata = await parquetMetadataAsync(countingBuffer([]));
    expect(metadata.row_groups.length).toBe(3);
    const all = groupByteRange(metadata.row_groups[1], new Set(["id", "text", "n"]))!;
    const textOnly = groupByteRange(metadata.row_groups[1], new Set(["text"]))!;
    const chunks = metadata.row_groups[1].columns.map((c) => c.meta_data!);
    const text = chunks.find((m) => m.path_in_schema[0] === "text")!;
    expect(textOnly).toEqual([Number(text.dictionary_page_offset || text.data_page_offset), Number(text.dictionary_page_offset || text.data_page_offset) + Number(text.total_compressed_size)]);
    expect(all[0]).toBeLessThanOrEqual(textOnly[0]);
    expect(all[1]).toBeGreaterThanOrEqual(textOnly[1]);
    expect(all[1]).toBeLessThanOrEqual(bytes.length);
    expect(groupByteRange(metadata.row_groups[1], new Set(["missing"]))).toBeUndefined();
  });

  it("serves slices inside the prefetched range from one read, and others from the file", async () => {
    const reads: [number, number][] = [];
    const buffer = new PrefetchingBuffer(countingBuffer(reads));
    buffer.prefetch(100, 900);
    expect(reads).toEqual([[100, 900]]);
    for (const [s, e] of [[100, 900], [200, 300], [899, 900]]) {
      expect(Buffer.from(await buffer.slice(s, e))).toEqual(bytes.subarray(s, e));
    }
    expect(reads).toEqual([[100, 900]]);
    expect(Buffer.from(await buffer.slice(50, 150))).toEqual(bytes.subarray(50, 150));
    expect(reads).toEqual([[100, 900], [50, 150]]);
  });

  it("reports a failed read ahead when its bytes are asked for, and never as an unhandled rejection", async () => {
    const buffer = new PrefetchingBuffer(countingBuffer([], true));
    buffer.prefetch(0, 10);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(buffer.slice(2, 8)).rejects.toThrow(/disk gone/);
  });

  it("reads every row of a multi-group file, all columns or some", async () => {
    const split = { path: file, format: "parquet" as const, start: 0, end: bytes.length, size: bytes.length };
    expect(await readAll(split)).toEqual(rows);
    expect(await readAll(split, { columns: ["text"] })).toEqual(rows.map((r) => ({ text: r.text })));
  });
});
