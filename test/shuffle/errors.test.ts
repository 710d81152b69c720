import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { ScatterWriter, ShuffleConfigError, ShuffleKeyError, ShuffleReader } from "../../src/shuffle/index.ts";
import { listFiles, scatter, tempDir } from "./helpers.ts";

let root: string;
beforeAll(async () => {
  root = await tempDir("errors");
});
afterAll(async () => {
  await fsp.rm(root, { recursive: true, force: true });
});

async function drain(reader: ShuffleReader<unknown>): Promise<unknown> {
  try {
    for await (const _ of reader.entries()) void _;
  } catch (err) {
    return err;
  }
  return undefined;
}

describe("misuse is reported with typed errors", () => {
  it("names the operator and the record's key when a key extractor returns an unusable key", async () => {
    const writer = await ScatterWriter.open<{ id: number; when?: unknown }>({
      outputDir: `${root}/bad-key`, mapTask: 0, numPartitions: 4, key: (r) => r.when, operator: "groupBy(byDate)",
    });
    expect(writer.add({ id: 1, when: "2024-01-01" })).toBeUndefined();
    expect(() => writer.add({ id: 2, when: new Date(0) })).toThrow(ShuffleKeyError);
    expect(() => writer.add({ id: 3 })).toThrow(/groupBy\(byDate\): key undefined/);
    await writer.abort();
    expect(await listFiles(`${root}/bad-key`)).toEqual([]);
  });

  it("rejects an unusable sortBy key, flat or nested, naming the element", async () => {
    const bad: [unknown, RegExp][] = [
      [NaN, /non-finite number NaN/],
      [[1, NaN], /key\[1\]: non-finite number NaN/],
      [[undefined], /key\[0\]: undefined is not a key value/],
      [[1, , 3], /key\[1\]: undefined is not a key value/], // a hole
      [["a", { at: Infinity }], /key\[1\]\.at: non-finite number Infinity/],
    ];
    const writer = await ScatterWriter.open<{ id: number; order: unknown }>({
      outputDir: `${root}/bad-sort`, mapTask: 0, numPartitions: 2, key: (r) => r.id, sortBy: (r) => r.order, operator: "partitionBy(byId)",
    });
    expect(writer.add({ id: 0, order: ["ok", 1] })).toBeUndefined();
    for (const [order, reason] of bad) {
      let caught: unknown;
      try {
        writer.add({ id: 1, order });
      } catch (err) {
        caught = err;
      }
      expect(caught, String(order)).toBeInstanceOf(ShuffleKeyError);
      expect((caught as Error).message).toMatch(/partitionBy\(byId\) sortBy/);
      expect((caught as Error).message).toMatch(reason);
    }
    await writer.abort();
  });

  it("rejects bad writer options and use after commit", async () => {
    await expect(ScatterWriter.open({ outputDir: `${root}/opts`, mapTask: 0, numPartitions: 0, key: () => 1 })).rejects.toBeInstanceOf(ShuffleConfigError);
    await expect(ScatterWriter.open({ outputDir: `${root}/opts`, mapTask: "a/b", numPartitions: 2, key: () => 1 })).rejects.toThrow(/not usable in a file name/);
    const writer = await ScatterWriter.open<number>({ outputDir: `${root}/opts`, mapTask: 0, numPartitions: 2, key: (n) => n });
    writer.add(1);
    await writer.commit();
    expect(() => writer.add(2)).toThrow(ShuffleConfigError);
  });

  it("refuses map outputs that disagree, are listed twice, or a partition out of range", async () => {
    const a = await scatter([[1, 2, 3]], { outputDir: `${root}/a`, numPartitions: 2, key: (n: number) => n });
    const b = await scatter([[4, 5]], { outputDir: `${root}/b`, numPartitions: 3, key: (n: number) => n });
    const mixed = await drain(new ShuffleReader({ mapOutputs: [...a, ...b], partition: 0 }));
    expect(mixed).toBeInstanceOf(ShuffleConfigError);
    expect((mixed as Error).message).toMatch(/disagree/);
    const twice = await drain(new ShuffleReader({ mapOutputs: [...a, ...a], partition: 0 }));
    expect((twice as Error).message).toMatch(/listed twice/);
    const outside = await drain(new ShuffleReader({ mapOutputs: a, partition: 2 }));
    expect((outside as Error).message).toMatch(/outside \[0, 2\)/);
  });
});
