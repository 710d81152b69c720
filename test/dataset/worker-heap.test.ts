/**
 * Pool workers' isolates start with an old-generation floor (WORKER_INITIAL_OLD_SPACE_MB): below it V8
 * runs no full collection, so a worker with a small live heap is not marked over and over. Each task
 * forces a full collection (which sets V8's next limit from the small live heap it leaves), then grows
 * its live heap by 40 MB: without the floor V8 collects on the way, with it not.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn } from "../../src/index.ts";
import { WORKER_INITIAL_OLD_SPACE_MB, createPoolRunner } from "../../src/dataset/exec/pool.ts";
import { fullCollectionsWhileGrowing } from "./fixtures/heap-fns.ts";

const FNS = pathToFileURL(path.join(import.meta.dirname, "fixtures/heap-fns.ts")).href;
const pool = createPoolRunner({ threads: 1, budgetBytes: 256 * 1024 * 1024 });
afterAll(() => pool.close());

describe("pool worker heaps", () => {
  test("a worker runs no full collection while its live heap grows 40 MB from a small one", async () => {
    expect(WORKER_INITIAL_OLD_SPACE_MB).toBeGreaterThanOrEqual(64);
    // Two tasks (a stage of one small task would run on the calling thread).
    const ds = Dataset.fromItems([{ growMb: 40 }, { growMb: 40 }], { shards: 2 }).map(fn(FNS, fullCollectionsWhileGrowing));
    const { rows } = await executeDataset(ds, { runner: pool, progress: false });
    expect(rows).toEqual([{ fullGcs: 0 }, { fullGcs: 0 }]);
  }, 60_000);
});
