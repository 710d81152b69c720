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
