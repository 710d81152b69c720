/**
 * Pool workers' isolates start with an old-generation floor (WORKER_INITIAL_OLD_SPACE_MB): the old
 * generation's growth below it starts no full collection, so a worker with a small live heap is not
 * marked over and over. Each task forces a full collection (which sets V8's next limit from the small
 * live heap it leaves), then grows its live heap to a target: below the floor V8 collects nothing on
 * the way (without the floor it does), and well above it, it does (the control). The floor is a
 * process-wide V8 flag that kiln sets only while its workers start, so a thread started once they
 * run has V8's own sizing. Their young generation is WORKER_YOUNG_GENERATION_MB (V8's default for a
 * worker is twice that).
 */
import path from "node:path";
import { Worker } from "node:worker_threads";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn } from "../../src/index.ts";
import { WORKER_YOUNG_GENERATION_MB, createPoolRunner } from "../../src/dataset/exec/pool.ts";
import { WORKER_INITIAL_OLD_SPACE_MB } from "../../src/dataset/exec/heap-floor.ts";
import { fullCollectionsWhileGrowing, youngGenerationMb } from "./fixtures/heap-fns.ts";

const FNS = pathToFileURL(path.join(import.meta.dirname, "fixtures/heap-fns.ts")).href;
const pool = createPoolRunner({ threads: 1, budgetBytes: 256 * 1024 * 1024 });
afterAll(() => pool.close());

describe("pool worker heaps", () => {
  test("a worker runs no full collection while its live heap grows to just below the floor, and does above it", async () => {
    const below = WORKER_INITIAL_OLD_SPACE_MB - 12;
    const above = WORKER_INITIAL_OLD_SPACE_MB + 48;
    // Two tasks (a stage of one small task would run on the calling thread).
    const ds = Dataset.fromItems([{ targetMb: below }, { targetMb: above }], { shards: 2 }).map(fn(FNS, fullCollectionsWhileGrowing));
    const { rows } = await executeDataset(ds, { runner: pool, progress: false });
    const belowRow = rows.find((r) => r.targetMb === below);
    const aboveRow = rows.find((r) => r.targetMb === above);
    expect(belowRow).toMatchObject({ inWorker: true, fullGcs: 0 });
    expect(belowRow?.peakMb).toBeGreaterThanOrEqual(below);
    expect(aboveRow?.inWorker).toBe(true);
    expect(aboveRow?.fullGcs).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("a thread started after the pool's workers are running has no floor: it collects on the way to the same target", async () => {
    // The pool's worker is online once a task has run on it.
    await executeDataset(Dataset.fromItems([{ n: 1 }, { n: 2 }], { shards: 2 }).map(fn(FNS, youngGenerationMb)), { runner: pool, progress: false });
    const below = WORKER_INITIAL_OLD_SPACE_MB - 12;
    const report = await new Promise<unknown>((resolve, reject) => {
      const thread = new Worker(new URL("./fixtures/heap-thread.mjs", import.meta.url), {
        workerData: { fns: FNS, row: { targetMb: below } },
        resourceLimits: { maxOldGenerationSizeMb: 512 },
      });
      thread.once("message", resolve);
      thread.once("error", reject);
    });
    expect(report).toMatchObject({ inWorker: true });
    expect(report).toHaveProperty("fullGcs", expect.any(Number));
    expect(Reflect.get(Object(report), "fullGcs")).toBeGreaterThanOrEqual(1);
  }, 60_000);

  test("a worker's young generation is WORKER_YOUNG_GENERATION_MB: two semi-spaces of a third of it each", async () => {
    const ds = Dataset.fromItems([{ n: 1 }, { n: 2 }], { shards: 2 }).map(fn(FNS, youngGenerationMb));
    const { rows } = await executeDataset(ds, { runner: pool, progress: false });
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).toMatchObject({ inWorker: true, newSpaceMb: (2 * WORKER_YOUNG_GENERATION_MB) / 3 });
  }, 60_000);
});
