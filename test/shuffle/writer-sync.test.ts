import { afterAll, describe, expect, it, vi } from "vitest";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { ShuffleReader } from "../../src/shuffle/index.ts";
import { scatter, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

/** FileHandle's prototype, to count `sync` calls on every handle the writer opens. */
async function fileHandlePrototype(dir: string): Promise<{ sync: () => Promise<void> }> {
  const handle = await fsp.open(path.join(dir, "probe"), "w");
  await handle.close();
  return Object.getPrototypeOf(handle);
}

describe("flushing map outputs to disk at commit", () => {
  it("syncs each data file by default and skips it when syncData is false, reading back the same either way", async () => {
    const root = await tempDir("sync");
    dirs.push(root);
    const spy = vi.spyOn(await fileHandlePrototype(root), "sync");
    const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, key: `k${i % 7}` }));
    const shards = [rows.slice(0, 150), rows.slice(150)];
    const counts: number[] = [];
    const read: number[][] = [];
    for (const syncData of [undefined, false]) {
      spy.mockClear();
      const outputs = await scatter(shards, { outputDir: `${root}/out-${String(syncData)}`, numPartitions: 2, key: (r) => r.key, ...(syncData === undefined ? {} : { syncData }) });
      counts.push(spy.mock.calls.length);
      const ids: number[] = [];
      for (let p = 0; p < 2; p++) for await (const r of new ShuffleReader<(typeof rows)[number]>({ mapOutputs: outputs, partition: p }).records()) ids.push(r.id);
      read.push(ids.sort((a, b) => a - b));
    }
    spy.mockRestore();
    expect(counts).toEqual([2, 0]);
    expect(read[0]).toEqual(rows.map((r) => r.id));
    expect(read[1]).toEqual(read[0]);
  });
});
