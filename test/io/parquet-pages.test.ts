// Parquet pages decompressed into one reused buffer only where every value read is copied out of its
// page (strings, JSON, booleans): numbers, which hyparquet hands on as views of the page, keep a
// buffer per page, so a column of several pages reads back whole beside strings that reuse theirs;
// a page past the reused buffer's cap gets a buffer of its own.
import { describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { parquetMetadata, type FileMetaData } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { compress } from "zstd-napi";
import { expandInputs, openWriter, type ParquetSchema } from "../../src/io/formats.ts";
import { pageDecompressors, REUSED_PAGE_MAX_BYTES, type PageDecompressors } from "../../src/io/parquet-pages.ts";
import { readAll, suiteDir } from "./helpers.ts";

const tmp = suiteDir("parquet-pages");

async function writeRows(name: string, rows: Record<string, unknown>[], schema?: ParquetSchema): Promise<string> {
  const file = path.join(tmp.path, name);
  const w = openWriter(file, "parquet", { rowGroupRows: 1_000_000, ...(schema ? { schema } : {}) });
  for (let i = 0; i < rows.length; i += 10_000) await w.write(rows.slice(i, i + 10_000));
  await w.close();
  return file;
}

async function readColumns(file: string, columns: string[]): Promise<unknown[]> {
  const [split] = await expandInputs(file);
  return readAll(split, { columns });
}

/** At least how many pages of `pageBytes` the column holds in its largest row group (its uncompressed size over the page size). */
async function pagesOf(file: string, column: string, pageBytes = 1024 * 1024): Promise<number> {
  const sizes = metadataOf(await fsp.readFile(file)).row_groups.flatMap((group) =>
    group.columns.filter((c) => c.meta_data?.path_in_schema[0] === column).map((c) => Number(c.meta_data?.total_uncompressed_size ?? 0)),
  );
  return Math.floor(Math.max(0, ...sizes) / pageBytes);
}

function metadataOf(bytes: Buffer): FileMetaData {
  return parquetMetadata(new Uint8Array(bytes).buffer);
}

/** Whether two pages decompressed one after the other came back in the same memory. */
function reusesOneBuffer(decompress: PageDecompressors): boolean {
  const first = Buffer.alloc(4096, 1);
  const second = Buffer.alloc(4096, 2);
  const a = decompress.ZSTD(compress(first), first.length);
  const b = decompress.ZSTD(compress(second), second.length);
  expect(Buffer.from(b)).toEqual(second);
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset;
}

describe("parquet page decompression", () => {
  it("reuses one buffer only for columns whose values are copied out of the page", async () => {
    const schema: ParquetSchema = {
      s: "string",
      b: "bool",
      j: "json",
      l: { list: "string" },
      n: "int64",
      f: "float64",
      named: { struct: { name: "string" } },
      sized: { struct: { name: "string", size: "int64" } },
    };
    const file = await writeRows(
      "kinds.parquet",
      [
        { s: "a", b: true, j: { k: [1] }, l: ["x"], n: 1, f: 0.5, named: { name: "y" }, sized: { name: "y", size: 2 } },
        { s: "b", b: false, j: null, l: [], n: 2, f: 1.5, named: { name: "z" }, sized: { name: "z", size: 3 } },
      ],
      schema,
    );
    const metadata = metadataOf(await fsp.readFile(file));
    expect(reusesOneBuffer(pageDecompressors(metadata, new Set(["s", "b", "j", "l", "named"])))).toBe(true);
    expect(reusesOneBuffer(pageDecompressors(metadata, new Set(["s", "n"])))).toBe(false);
    expect(reusesOneBuffer(pageDecompressors(metadata, new Set(["f"])))).toBe(false);
    // A struct with a number in it, and any column at all (what a row filter may read).
    expect(reusesOneBuffer(pageDecompressors(metadata, new Set(["sized"])))).toBe(false);
    expect(reusesOneBuffer(pageDecompressors(metadata, undefined))).toBe(false);
  });

  it("reads required numbers, which hyparquet hands on as views of their pages, whole beside strings", async () => {
    // Another tool's file: REQUIRED columns (kiln writes OPTIONAL ones, whose values hyparquet copies), small pages.
    const rows = 50_000;
    const file = path.join(tmp.path, "required.parquet");
    const bytes = parquetWriteBuffer({
      columnData: [
        { name: "n", data: BigInt64Array.from({ length: rows }, (_, i) => BigInt(i * 3 + 1)), type: "INT64", nullable: false },
        { name: "f", data: Float64Array.from({ length: rows }, (_, i) => i / 4), type: "DOUBLE", nullable: false },
        { name: "s", data: Array.from({ length: rows }, (_, i) => `v${i}`), type: "STRING", nullable: false },
      ],
      codec: "ZSTD",
      compressors: { ZSTD: (page: Uint8Array) => compress(page) },
      rowGroupSize: rows,
      pageSize: 64 * 1024,
    });
    await fsp.writeFile(file, new Uint8Array(bytes));
    expect(await pagesOf(file, "n", 64 * 1024)).toBeGreaterThan(4);
    const back = await readColumns(file, ["n", "f", "s"]);
    expect(back).toHaveLength(rows);
    const wrong = back.findIndex((row, i) => JSON.stringify(row) !== JSON.stringify({ n: i * 3 + 1, f: i / 4, s: `v${i}` }));
    expect(wrong).toBe(-1);
  });

  it("reads strings and dictionary strings spread over several pages whole", async () => {
    const rows = Array.from({ length: 6000 }, (_, i) => ({
      id: `doc-${i}`,
      tag: ["news", "web", "code", "books"][i % 4],
      text: `${i} ${"lorem ipsum dolor sit amet é 字 🙂 ".repeat(20 + (i % 17))}`,
    }));
    const file = await writeRows("strings.parquet", rows);
    expect(await pagesOf(file, "text")).toBeGreaterThan(1);
    const back = await readColumns(file, ["id", "tag", "text"]);
    expect(back).toEqual(rows);
  });

  it("reads a page larger than the reused buffer may grow in a buffer of its own", async () => {
    const big = "0123456789abcdef".repeat((REUSED_PAGE_MAX_BYTES >> 4) + 4096);
    const rows = [{ id: "small", text: "x" }, { id: "big", text: big }, { id: "after", text: "y".repeat(1000) }];
    const file = await writeRows("big-page.parquet", rows);
    expect(await pagesOf(file, "text", REUSED_PAGE_MAX_BYTES)).toBeGreaterThan(0);
    const back = await readColumns(file, ["id", "text"]);
    expect(back.map((r) => (r as { id: string }).id)).toEqual(["small", "big", "after"]);
    expect(back).toEqual(rows);
  });
});
