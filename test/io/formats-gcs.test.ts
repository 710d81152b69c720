/** The formats over gs:// paths, through the official client and the fake GCS server. */
import { describe, expect, it } from "vitest";
import { gcsFileSystem } from "../../src/io/index.ts";
import { CorruptFileError, expandInputs, openWriter } from "../../src/io/formats.ts";
import { useFakeGcs } from "../support/fake-gcs-suite.ts";
import { multiset, readAll } from "./helpers.ts";

const fake = useFakeGcs();

const rows = Array.from({ length: 2500 }, (_, i) => ({ id: `r${i}`, n: i, text: "t".repeat(i % 40), nested: { i } }));

describe("formats on gs://", () => {
  for (const format of ["jsonl.zst", "parquet", "jsonl"] as const) {
    it(`round-trips ${format} and only publishes on close`, async () => {
      const target = `gs://data/${format}/part-00000-of-00002.${format}`;
      const w = openWriter(target, format, { rowGroupRows: 1000 });
      await w.write(rows.slice(0, 1200));
      await w.write(rows.slice(1200));
      expect(fake.server.getObject("data", `${format}/part-00000-of-00002.${format}`)).toBeUndefined();
      const result = await w.close();
      expect(result.rows).toBe(rows.length);
      expect(fake.server.getObject("data", `${format}/part-00000-of-00002.${format}`)?.length).toBe(result.bytes);
      const splits = await expandInputs(`gs://data/${format}/part-*.{zst,parquet,jsonl}`);
      expect(splits.map((s) => [s.path, s.size])).toEqual([[target, result.bytes]]);
      const got = await readAll(splits[0]);
      expect(multiset(got)).toEqual(multiset(rows));
    });
  }

  it("reads byte-range splits of a plain jsonl object through ranged downloads", async () => {
    const splits = await expandInputs("gs://data/jsonl/*.jsonl", { splitBytes: 4096 });
    expect(splits.length).toBeGreaterThan(5);
    const got: unknown[] = [];
    for (const s of splits) got.push(...(await readAll(s)));
    expect(got).toEqual(rows);
  });

  it("reads an empty object as no rows", async () => {
    await gcsFileSystem().writeAtomic("gs://data/empty/e.jsonl", "");
    const [split] = await expandInputs("gs://data/empty/e.jsonl");
    expect(split.size).toBe(0);
    expect(await readAll(split)).toEqual([]);
  });

  it("a truncated .zst object fails naming it", async () => {
    const good = fake.server.getObject("data", "jsonl.zst/part-00000-of-00002.jsonl.zst")!;
    await gcsFileSystem().writeAtomic("gs://data/cut/x.jsonl.zst", good.subarray(0, good.length - 20));
    const [split] = await expandInputs("gs://data/cut/*.zst");
    const err = await readAll(split).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptFileError);
    expect((err as Error).message).toContain("gs://data/cut/x.jsonl.zst");
  });
});
