/** The formats over gs:// paths, through the official client and the fake GCS server. */
import { describe, expect, it } from "vitest";
import { gcsFileSystem } from "../../src/io/index.ts";
import { CorruptFileError, expandInputs, openWriter, QuarantineSink, readParquetSchema, readSplit, type ParquetSchema } from "../../src/io/formats.ts";
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

  it("a parquet schema written with a struct column is read back from gs://, with an empty sibling part", async () => {
    const schema: ParquetSchema = { id: "string", attributes: { struct: { score: "float64", tags: { list: "string" } } } };
    const w = openWriter("gs://data/typed/part-0.parquet", "parquet", { schema });
    await w.write([{ id: "a", attributes: { score: 0.5, tags: ["x"] } }]);
    await w.close();
    expect(await readParquetSchema("gs://data/typed/part-0.parquet")).toEqual(schema);
    const empty = openWriter("gs://data/typed/part-1.parquet", "parquet", { schema: await readParquetSchema("gs://data/typed/part-0.parquet") });
    await empty.close();
    const got: unknown[] = [];
    for (const split of await expandInputs("gs://data/typed/*.parquet")) got.push(...(await readAll(split)));
    expect(got).toEqual([{ id: "a", attributes: { score: 0.5, tags: ["x"] } }]);
    expect(await readParquetSchema("gs://data/typed/part-1.parquet")).toEqual(schema);
  });

  it("quarantines rejected lines into an object that appears on close", async () => {
    await gcsFileSystem().writeAtomic("gs://data/bad/in.jsonl", '{"a":1}\nnot json\n{"a":3}\n');
    const sink = new QuarantineSink("gs://data/bad/rejects.jsonl");
    const rows: unknown[] = [];
    for (const split of await expandInputs("gs://data/bad/in.jsonl")) for await (const b of readSplit(split, { rejects: sink })) rows.push(...b.rows);
    expect(rows).toEqual([{ a: 1 }, { a: 3 }]);
    expect(fake.server.getObject("data", "bad/rejects.jsonl")).toBeUndefined();
    await sink.close();
    const [quarantined] = await readAll((await expandInputs("gs://data/bad/rejects.jsonl"))[0]);
    expect(quarantined).toMatchObject({ file: "gs://data/bad/in.jsonl", line: 2, byteOffset: 8, reason: "malformed-json", raw: "not json" });
  });
});
