import { afterAll, describe, expect, it } from "vitest";
import * as fsp from "node:fs/promises";
import { ScatterWriter, ShuffleReader } from "../../src/shuffle/index.ts";
import { arenaBlocks } from "../../src/shuffle/arena.ts";
import { listMapOutputs } from "../../src/shuffle/sidecar.ts";
import { rng, tempDir } from "./helpers.ts";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

interface Row {
  id: number;
  key: string;
  text: string;
}

/** Rows of random text (100-3,000 characters) on 50 keys: several MiB, so every partition fills full-size blocks. */
function rowsOf(count: number, seed: number, firstId: number): Row[] {
  const random = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const length = 100 + Math.floor(random() * 2900);
    const text = Array.from({ length: Math.ceil(length / 8) }, () => Math.floor(random() * 2 ** 32).toString(36)).join(" ");
    return { id: firstId + i, key: `k${Math.floor(random() * 50)}`, text };
  });
}

async function readBack(outputs: string[], partitions: number): Promise<Row[]> {
  const rows: Row[] = [];
  for (let p = 0; p < partitions; p++) for await (const r of new ShuffleReader<Row>({ mapOutputs: outputs, partition: p }).records()) rows.push(r);
  return rows.sort((a, b) => a.id - b.id);
}

/** One writer per shard, one after another in this thread, on two partitions; each writer's stats and the pool's free blocks after it. */
async function writeShards(outputDir: string, shards: Row[][], memoryBudgetBytes?: number): Promise<{ reused: number; flushes: number; pooledAfter: number }[]> {
  const out = [];
  for (let m = 0; m < shards.length; m++) {
    const writer = await ScatterWriter.open<Row>({ outputDir, mapTask: m, numPartitions: 2, key: (r) => r.key, memoryBudgetBytes });
    await writer.writeAll(shards[m]);
    await writer.commit();
    out.push({ reused: writer.stats.reusedBlocks, flushes: writer.stats.flushes, pooledAfter: arenaBlocks.freeBlocks });
  }
  return out;
}

describe("the arena blocks a writer's flushed partitions give back", () => {
  it("are filled again by the same writer after a flush and by the thread's next writer, every record read back intact", async () => {
    const root = await tempDir("arena-pool");
    dirs.push(root);
    const outputDir = `${root}/out`;
    const shards = [rowsOf(4000, 1, 0), rowsOf(4000, 2, 4000)];
    // 8 MiB: the writer flushes its largest partitions every 4 MiB of buffered entries.
    const [first, second] = await writeShards(outputDir, shards, 8 << 20);
    expect(first.flushes).toBeGreaterThan(0);
    // The first writer refills blocks its own flushes gave back; the second also starts on the first's.
    expect(first.reused).toBeGreaterThan(0);
    expect(second.reused).toBeGreaterThan(first.reused);
    expect(first.pooledAfter).toBeGreaterThan(0);
    expect(arenaBlocks.freeBlocks).toBeGreaterThan(0);
    expect(await readBack(await listMapOutputs(outputDir), 2)).toEqual([...shards[0], ...shards[1]]);
    // Opening a reader let the idle blocks go.
    expect(arenaBlocks.freeBlocks).toBe(0);
  });

  it("of every size are taken again: a next writer whose partitions never reach 1 MiB blocks reuses its predecessor's", async () => {
    const root = await tempDir("arena-pool-small");
    dirs.push(root);
    const outputDir = `${root}/out`;
    // About 300 KB per partition: blocks of 4 KiB up to 128 KiB, none of 1 MiB.
    const shards = [rowsOf(400, 4, 0), rowsOf(400, 5, 400)];
    const [first, second] = await writeShards(outputDir, shards);
    expect(first.reused).toBe(0);
    expect(second.reused).toBeGreaterThanOrEqual(10);
    expect(await readBack(await listMapOutputs(outputDir), 2)).toEqual([...shards[0], ...shards[1]]);
  });

  it("are let go a second after the thread's last writer finished, when no writer opens", async () => {
    const root = await tempDir("arena-pool-grace");
    dirs.push(root);
    const writer = await ScatterWriter.open<Row>({ outputDir: `${root}/out`, mapTask: 0, numPartitions: 1, key: (r) => r.key });
    await writer.writeAll(rowsOf(2000, 3, 0));
    await writer.commit();
    expect(arenaBlocks.freeBlocks).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(arenaBlocks.freeBlocks).toBe(0);
  });
});
