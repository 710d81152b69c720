import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parquetMetadataAsync, type AsyncBuffer } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { openWriter } from "../../src/io/formats.ts";
import { LocalFileSystem } from "../../src/io/local.ts";
import { columnByteRanges, groupReads, OWN_READ_BYTES, PrefetchingBuffer } from "../../src/io/parquet-prefetch.ts";
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

/** A whole file as an AsyncBuffer. */
async function fileBuffer(p: string): Promise<AsyncBuffer> {
  const b = await fsp.readFile(p);
  return { byteLength: b.length, slice: (start: number, end = b.length) => Uint8Array.prototype.slice.call(b, start, end).buffer };
}

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
  it("covers exactly the wanted column chunks of a group, one range per column in file order", async () => {
    const metadata = await parquetMetadataAsync(countingBuffer([]));
    expect(metadata.row_groups.length).toBe(3);
    const chunks = metadata.row_groups[1].columns.map((c) => c.meta_data!);
    const rangeOf = (name: string) => {
      const m = chunks.find((c) => c.path_in_schema[0] === name)!;
      const start = Number(m.dictionary_page_offset || m.data_page_offset);
      return { column: name, start, end: start + Number(m.total_compressed_size) };
    };
    const inFileOrder = chunks.map((c) => c.path_in_schema[0]);
    expect(columnByteRanges(metadata.row_groups[1], new Set(["n", "text", "id"]))).toEqual(inFileOrder.map(rangeOf));
    expect(columnByteRanges(metadata.row_groups[1], new Set(["text"]))).toEqual([rangeOf("text")]);
    expect(columnByteRanges(metadata.row_groups[1], new Set(["missing"]))).toEqual([]);
  });

  it("spans every chunk of a struct column with one range", async () => {
    const structFile = path.join(dir, "struct.parquet");
    const w = openWriter(structFile, "parquet", { schema: { id: "string", meta: { struct: { a: "int64", b: "string" } } } });
    await w.write(Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, meta: { a: i, b: `b${i}` } })));
    await w.close();
    const metadata = await parquetMetadataAsync(await fileBuffer(structFile));
    const leaves = metadata.row_groups[0].columns.map((c) => c.meta_data!).filter((m) => m.path_in_schema[0] === "meta");
    expect(leaves.length).toBe(2);
    const starts = leaves.map((m) => Number(m.dictionary_page_offset || m.data_page_offset));
    const ends = leaves.map((m, i) => starts[i] + Number(m.total_compressed_size));
    expect(columnByteRanges(metadata.row_groups[0], new Set(["meta"]))).toEqual([{ column: "meta", start: Math.min(...starts), end: Math.max(...ends) }]);
  });

  it("hands a slice that is exactly one prefetched range that read's buffer, copies one inside a range, and reads others from the file", async () => {
    const reads: [number, number][] = [];
    const buffer = new PrefetchingBuffer(countingBuffer(reads));
    buffer.prefetch([
      { start: 100, end: 900 },
      { start: 1000, end: 1200 },
    ]);
    expect(reads).toEqual([
      [100, 900],
      [1000, 1200],
    ]);
    const whole = await buffer.slice(1000, 1200);
    expect(await buffer.slice(1000, 1200)).toBe(whole);
    for (const [s, e] of [[100, 900], [200, 300], [899, 900], [1000, 1200], [1100, 1150]]) {
      expect(Buffer.from(await buffer.slice(s, e))).toEqual(bytes.subarray(s, e));
    }
    expect(await buffer.slice(200, 300)).not.toBe(await buffer.slice(200, 300));
    expect(reads.length).toBe(2);
    expect(Buffer.from(await buffer.slice(850, 1050))).toEqual(bytes.subarray(850, 1050));
    expect(reads).toEqual([
      [100, 900],
      [1000, 1200],
      [850, 1050],
    ]);
    buffer.prefetch([{ start: 0, end: 10 }]);
    await buffer.slice(100, 900);
    expect(reads.at(-1)).toEqual([100, 900]);
  });

  it("reports a failed read ahead when its bytes are asked for, and never as an unhandled rejection", async () => {
    const buffer = new PrefetchingBuffer(countingBuffer([], true));
    buffer.prefetch([{ start: 0, end: 10 }]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await expect(buffer.slice(2, 8)).rejects.toThrow(/disk gone/);
  });

  it("reads every row of a multi-group file, all columns or some", async () => {
    const split = { path: file, format: "parquet" as const, start: 0, end: bytes.length, size: bytes.length };
    expect(await readAll(split)).toEqual(rows);
    expect(await readAll(split, { columns: ["text"] })).toEqual(rows.map((r) => ({ text: r.text })));
  });

  it("reads small columns together as one range and a large one as its own, rows holding the columns in the file's order", async () => {
    // Two small columns side by side, then a column of hard-to-compress text over OWN_READ_BYTES per group.
    let seed = 7;
    const hex = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 0).toString(16).padStart(8, "0");
    const mixedRows = Array.from({ length: 1500 }, (_, i) => ({ a: `a${i}`, n: i, text: Array.from({ length: 50 }, hex).join("") }));
    const mixed = path.join(dir, "mixed.parquet");
    const w = openWriter(mixed, "parquet", { rowGroupRows: 500 });
    await w.write(mixedRows);
    await w.close();
    const size = (await fsp.stat(mixed)).size;
    const metadata = await parquetMetadataAsync(await fileBuffer(mixed));
    const wanted = new Set(["text", "n", "a"]);
    for (const g of metadata.row_groups) {
      const plan = groupReads(g, wanted);
      const [a, n, text] = columnByteRanges(g, wanted);
      expect(text.end - text.start).toBeGreaterThanOrEqual(OWN_READ_BYTES);
      expect(plan.columns).toEqual(["a", "n", "text"]);
      expect(plan.reads).toEqual([["text"], ["a", "n"]]);
      expect(plan.ranges).toEqual([
        { start: text.start, end: text.end },
        { start: a.start, end: n.end },
      ]);
    }
    const reads: [number, number][] = [];
    class RecordingFileSystem extends LocalFileSystem {
      override readRange(p: string, offset: number, length: number): Promise<Buffer> {
        reads.push([offset, offset + length]);
        return super.readRange(p, offset, length);
      }
    }
    const split = { path: mixed, format: "parquet" as const, start: 0, end: size, size };
    const got = await readAll(split, { columns: ["text", "n", "a"], fs: new RecordingFileSystem() });
    expect(got).toEqual(mixedRows);
    expect(got.every((r) => Object.keys(r as object).join() === "a,n,text")).toBe(true);
    const planned = metadata.row_groups.flatMap((g) => groupReads(g, wanted).ranges.map((r) => [r.start, r.end]));
    // The footer's reads run to the end of the file; every other read is of column chunks.
    const dataReads = reads.filter(([, e]) => e < size);
    expect(dataReads.sort((x, y) => x[0] - y[0])).toEqual(planned.sort((x, y) => x[0] - y[0]));

    // A read with a row filter decodes its columns in one hyparquet read, and reads each group's bytes once.
    reads.length = 0;
    const filtered = await readAll(split, { columns: ["text", "n", "a"], filter: { n: { $gte: 250 } }, fs: new RecordingFileSystem() });
    expect(filtered).toEqual(mixedRows.filter((r) => r.n >= 250));
    const spans = metadata.row_groups.flatMap((g) => groupReads(g, wanted, true).ranges.map((r) => [r.start, r.end]));
    expect(spans).toHaveLength(metadata.row_groups.length);
    expect(reads.filter(([, e]) => e < size).sort((x, y) => x[0] - y[0])).toEqual(spans.sort((x, y) => x[0] - y[0]));
  });

  it("reads a group of small columns with one read", async () => {
    const metadata = await parquetMetadataAsync(countingBuffer([]));
    const plan = groupReads(metadata.row_groups[1], new Set(["n", "id", "text"]));
    const ranges = columnByteRanges(metadata.row_groups[1], new Set(["n", "id", "text"]));
    expect(plan.reads).toEqual([ranges.map((r) => r.column)]);
    expect(plan.ranges).toEqual([{ start: ranges[0].start, end: ranges[ranges.length - 1].end }]);
  });

  it("fails naming the file and column when the file's schema names a column it holds no chunk of", async () => {
    const misdescribed = path.join(dir, "misdescribed.parquet");
    const written = parquetWriteBuffer({
      columnData: [
        { name: "id", data: ["a", "b"], type: "STRING" },
        { name: "text", data: ["x", "y"], type: "STRING" },
      ],
      kvMetadata: [{ key: "kiln.schema", value: JSON.stringify({ id: "string", ghost: "string", text: "string" }) }],
    });
    await fsp.writeFile(misdescribed, new Uint8Array(written));
    const size = (await fsp.stat(misdescribed)).size;
    const split = { path: misdescribed, format: "parquet" as const, start: 0, end: size, size };
    await expect(readAll(split)).rejects.toThrow(/misdescribed\.parquet.*no column chunk of 'ghost'/);
    expect(await readAll(split, { columns: ["text", "id"] })).toEqual([
      { id: "a", text: "x" },
      { id: "b", text: "y" },
    ]);
  });
});
