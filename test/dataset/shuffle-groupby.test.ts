/**
 * groupBy and deduplicate through the shuffle on real worker threads and inline: round trips
 * without loss or duplication (also under a tiny memory budget that forces budget flushes on the
 * map side and spilling on the reduce side), key order per shard and sortBy order within a group,
 * the combiner, countByKey, empty input, null keys, bad keys, deduplicate against a reference, a map
 * task and a reduce task failing twice before succeeding, a map attempt that committed and still failed, and temporary files removed
 * after success and failure.
 */
import { mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn, UserFunctionError } from "../../src/index.ts";
import { createPoolRunner } from "../../src/internal.ts";
import type { ExecuteOptions } from "../../src/index.ts";
import type { TaskRunner } from "../../src/internal.ts";
import { compareKeys, partitionOf } from "../../src/shuffle/index.ts";
import type { ShuffleKey } from "../../src/shuffle/index.ts";
import { flaky, tagShard } from "./fixtures/user-fns.ts";
import { addCounts, byId, byWord, collectIds, collectRows, failOnKey, flakyCollect, idDescending, sumCounts, toWordCount } from "./fixtures/shuffle-fns.ts";
import type { Doc } from "./fixtures/shuffle-fns.ts";
import { FIXTURES as U, multiset, readAll, tempDir } from "./helpers.ts";

const S = new URL("./fixtures/shuffle-fns.ts", import.meta.url).href;
const tmp = tempDir();
const workers = createPoolRunner({ threads: 2 });
const quiet = () => {};
const pool: ExecuteOptions = { runner: workers, progress: false, log: quiet };
const inline: ExecuteOptions = { executor: "inline", progress: false, log: quiet };
afterAll(async () => {
  await workers.close();
  tmp.cleanup();
});

const WORDS = ["kiln", "clay", "glaze", "fire", "wheel", "potter", "ash", "slip", "bisque", "cone"];
/** `count` docs; every 13th has a null word; text padding makes rows a few hundred bytes. */
function docs(count: number, pad = 0): Doc[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    word: id % 13 === 0 ? null : WORDS[(id * 7 + (id >> 3)) % WORDS.length],
    text: `doc ${id} `.padEnd(pad, "x"),
  }));
}

/** Reference grouping: key -> ids in input order. */
function groupIds(rows: Doc[]): Map<ShuffleKey, number[]> {
  const groups = new Map<ShuffleKey, number[]>();
  for (const r of rows) groups.set(r.word, [...(groups.get(r.word) ?? []), r.id]);
  return groups;
}

describe("groupBy", () => {
  test("pool: every row lands in exactly one group, keys ascend within each shard and sit in their hash partition", async () => {
    const input = docs(600);
    const ds = Dataset.fromItems(input, { shards: 3 })
      .groupBy(fn(S, byWord), fn(S, collectIds), { numShards: 4 })
      .mapShard(fn(U, tagShard as never));
    const { rows, counters } = await executeDataset(ds, pool);
    const out = rows as unknown as Array<{ key: ShuffleKey; ids: number[]; shard: number }>;
    const expected = groupIds(input);
    expect(out).toHaveLength(expected.size);
    for (const g of out) {
      expect([...g.ids].sort((a, b) => a - b)).toEqual(expected.get(g.key));
      expect(g.shard).toBe(partitionOf(g.key, 4));
    }
    for (let s = 0; s < 4; s++) {
      const keys = out.filter((g) => g.shard === s).map((g) => g.key);
      for (let i = 1; i < keys.length; i++) expect(compareKeys(keys[i - 1], keys[i])).toBeLessThan(0);
    }
    expect(counters.stages.map((s) => s.shards)).toEqual([3, 4]);
    expect(counters.stages[0].recordsOut).toBe(600);
    expect(counters.stages[1].recordsIn).toBe(600);
  });

  test("one reduce shard gives a global key order; sortBy orders each group's values (null key included)", async () => {
    const input = docs(300);
    const ds = Dataset.fromItems(input, { shards: 3 }).groupBy(fn(S, byWord), fn(S, collectIds), { sortBy: fn(S, idDescending), numShards: 1 });
    const { rows } = await executeDataset(ds, pool);
    const keys = rows.map((r) => r.key);
    const sortedKeys = [...groupIds(input).keys()].sort(compareKeys);
    expect(keys).toEqual(sortedKeys);
    expect(keys[0]).toBeNull(); // null sorts first
    for (const g of rows) expect(g.ids).toEqual([...groupIds(input).get(g.key)!].sort((a, b) => b - a));
  });

  test("tiny budget: budget flushes on the map side, spilled runs on the reduce side, still no loss or duplicate", async () => {
    const input = docs(3000, 200);
    // Eight partitions: the buffered total reaches the flush threshold before any one buffer is a full frame.
    const ds = Dataset.fromItems(input, { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectRows), { numShards: 8 });
    const { rows, counters } = await executeDataset(ds, { ...pool, memoryBudgetBytes: 64 * 1024 });
    const back = rows.flatMap((g) => g.rows);
    expect(back).toHaveLength(input.length);
    expect(multiset(back)).toEqual(multiset(input));
    for (const g of rows) expect(g.rows.every((r) => r.word === g.key)).toBe(true);
    expect(counters.stages[0].shuffle!.budgetFlushes).toBeGreaterThan(0);
    expect(counters.stages[0].shuffle!.framesWritten).toBeGreaterThan(10);
    expect(counters.stages[1].shuffle!.spilledRuns).toBeGreaterThan(0);
  });

  test("the combiner runs on the map side and in the merge: the reducer sees one value per key", async () => {
    const input = docs(500);
    const ds = Dataset.fromItems(input, { shards: 3 })
      .map(fn(S, toWordCount))
      .groupBy(fn(S, byWord), fn(S, sumCounts), { combiner: fn(S, addCounts), numShards: 2 });
    const { rows, counters } = await executeDataset(ds, pool);
    const expected = new Map([...groupIds(input)].map(([k, ids]) => [k, ids.length]));
    expect(new Map(rows.map((r) => [r.word, r.count]))).toEqual(expected);
    expect(rows.every((r) => r.values === 1)).toBe(true);
    // Map side: 500 rows over 11 keys in 3 shards leave at most 33 partial rows.
    expect(counters.stages[0].user.combines).toBeGreaterThanOrEqual(500 - 33);
  });

  test("countByKey counts through the shuffle (closure key inline, reference key on the pool)", async () => {
    const input = docs(400);
    const expected = new Map([...groupIds(input)].map(([k, ids]) => [k, ids.length]));
    const viaPool = await executeDataset(Dataset.fromItems(input, { shards: 3 }).countByKey(fn(S, byWord), { numShards: 2 }), pool);
    expect(new Map(viaPool.rows.map((r) => [r.key, r.count]))).toEqual(expected);
    expect(viaPool.rows).toHaveLength(expected.size);
    const viaInline = await executeDataset(Dataset.fromItems(input, { shards: 2 }).countByKey((d) => d.word), inline);
    expect(new Map(viaInline.rows.map((r) => [r.key, r.count]))).toEqual(expected);
  });

  test("empty input gives no groups; a count after groupBy counts groups", async () => {
    const empty = await executeDataset(Dataset.fromItems<Doc>([], { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectIds)), pool);
    expect(empty.rows).toEqual([]);
    const counted = await executeDataset(Dataset.fromItems(docs(200), { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectIds)).count(), pool);
    expect(counted.value).toBe(groupIds(docs(200)).size);
  });

  test("inline and pool give the same multiset", async () => {
    const input = docs(400);
    const build = () => Dataset.fromItems(input, { shards: 3 }).groupBy(fn(S, byWord), fn(S, collectIds), { sortBy: fn(S, byId), numShards: 3 });
    const a = await executeDataset(build(), inline);
    const b = await executeDataset(build(), pool);
    expect(multiset(a.rows)).toEqual(multiset(b.rows));
    expect(a.rows.length).toBe(groupIds(input).size);
  });

  test("closures run inline", async () => {
    const input = docs(50);
    const ds = Dataset.fromItems(input, { shards: 2 }).groupBy(
      (r) => r.id % 5,
      async (key, values) => {
        let n = 0;
        for await (const _ of values) n++;
        return { key, n };
      },
    );
    const { rows } = await executeDataset(ds, inline);
    expect(rows.sort((x, y) => (x.key as number) - (y.key as number))).toEqual([0, 1, 2, 3, 4].map((key) => ({ key, n: 10 })));
  });
});

describe("retries and cleanup", () => {
  test("a groupBy map task that throws twice and then succeeds leaves no duplicates", async () => {
    const input = docs(900, 120);
    const attempts = path.join(tmp.dir, "attempts-groupby");
    const ds = Dataset.fromItems(input, { shards: 3 })
      .map<Doc>(fn(U, flaky, { dir: attempts, shard: 1, failures: 2 }) as never)
      .groupBy(fn(S, byWord), fn(S, collectRows), { numShards: 2 });
    const { rows, counters } = await executeDataset(ds, { ...pool, memoryBudgetBytes: 64 * 1024 });
    expect(readdirSync(attempts)).toHaveLength(3);
    expect(counters.stages[0].retries).toBe(2);
    expect(multiset(rows.flatMap((g) => g.rows))).toEqual(multiset(input));
  });

  test("a reduce task that throws twice and then succeeds: committed outputs hold every group once", async () => {
    const input = docs(500);
    const attempts = path.join(tmp.dir, "attempts-reduce");
    const out = path.join(tmp.dir, "out-reduce");
    const ds = Dataset.fromItems(input, { shards: 2 })
      .groupBy(fn(S, byWord), fn(S, flakyCollect, { dir: attempts, key: "kiln", failures: 2 }), { numShards: 3 })
      .write(path.join(out, "groups-{shard}.jsonl"));
    const { outputs, counters } = await executeDataset(ds, pool);
    expect(readdirSync(attempts)).toHaveLength(3);
    expect(counters.stages[1].retries).toBe(2);
    expect(readdirSync(out).sort()).toEqual(["groups-00000.jsonl", "groups-00001.jsonl", "groups-00002.jsonl"]);
    const groups = (await readAll(outputs)) as Array<{ key: ShuffleKey; ids: number[] }>;
    expect(groups.map((g) => g.key).sort(compareKeys)).toEqual([...groupIds(input).keys()].sort(compareKeys));
    expect(groups.flatMap((g) => g.ids).sort((a, b) => a - b)).toEqual(input.map((d) => d.id));
  });

  test("a map attempt that committed and then failed does not double its rows", async () => {
    const input = docs(300);
    // Shard 0 of stage 0 commits its sidecar on attempt 1 but is reported failed; attempt 2 commits again.
    const base = path.join(tmp.dir, "exec-twice");
    mkdirSync(base, { recursive: true });
    const mapFolders: string[][] = [];
    const twice: TaskRunner = {
      concurrency: workers.concurrency,
      async run(desc) {
        if (desc.stageId === 1 && desc.input.kind === "shuffle") {
          // By the time reduce tasks run, the losing attempt's folder is gone: one folder per map task.
          const stageDir = path.join(base, readdirSync(base)[0], "stage-0-r0");
          mapFolders.push(readdirSync(stageDir).sort());
          expect(desc.input.sidecars.map((p) => path.basename(path.dirname(p)))).toEqual(mapFolders.at(-1));
        }
        const result = await workers.run(desc);
        if (desc.stageId === 0 && desc.shard === 0 && desc.attempt === 1) return { ok: false, error: { name: "Error", message: "lost the reply", retryable: true } };
        return result;
      },
      close: async () => {},
    };
    const ds = Dataset.fromItems(input, { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectIds), { numShards: 3 });
    const { rows, counters } = await executeDataset(ds, { runner: twice, progress: false, log: quiet, tmpDir: base });
    expect(counters.stages[0].retries).toBe(1);
    expect(mapFolders).toHaveLength(3);
    for (const folders of mapFolders) {
      expect(folders).toHaveLength(2);
      expect(folders[0]).toMatch(/^map-0\.[0-9a-f]+-a2-/); // the winning attempt of map task 0 is its second
    }
    const ids = rows.flatMap((g) => g.ids).sort((a, b) => a - b);
    expect(ids).toEqual(input.map((d) => d.id));
  });

  test("shuffle and spill files are removed after success and after failure", async () => {
    const base = path.join(tmp.dir, "exec-tmp");
    mkdirSync(base, { recursive: true });
    const input = docs(2000, 200);
    const ok = Dataset.fromItems(input, { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectIds), { numShards: 2 });
    const done = await executeDataset(ok, { ...pool, tmpDir: base, memoryBudgetBytes: 64 * 1024 });
    expect(done.counters.stages[1].shuffle!.spilledRuns).toBeGreaterThan(0);
    expect(readdirSync(base)).toEqual([]);
    const bad = Dataset.fromItems(input, { shards: 2 }).groupBy(fn(S, byWord), fn(S, failOnKey, { key: "slip" }), { numShards: 2 });
    const err = await executeDataset(bad, { ...pool, tmpDir: base, memoryBudgetBytes: 64 * 1024 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserFunctionError);
    expect((err as UserFunctionError).operator).toBe("groupBy #2 reducer");
    expect((err as Error).message).toContain('group key "slip"');
    expect(readdirSync(base)).toEqual([]);
  });
});

describe("bad keys", () => {
  test("a key that is not a shuffle key fails naming the operator, shard, row and record", async () => {
    // Row 17 lacks its word, against its declared type, as a malformed input record would.
    const input = docs(30).map((d) => (d.id === 17 ? ({ id: d.id, text: d.text } as Doc) : d));
    const ds = Dataset.fromItems(input, { shards: 2 }).groupBy(fn(S, byWord), fn(S, collectIds));
    for (const opts of [inline, pool]) {
      const err = await executeDataset(ds, opts).catch((e: unknown) => e);
      expect((err as { code?: string }).code).toBe("KILN_SHUFFLE_KEY");
      expect((err as Error).message).toContain("groupBy #2: key undefined cannot be used as a shuffle key");
      expect((err as Error).message).toContain('(shard 1 of 2, row 3 reaching the scatter: {"id":17,"text":"doc 17 "})');
    }
  });
});

describe("deduplicate", () => {
  test("keeps the first row per key in dataset order, matching a reference, inline and pool", async () => {
    const input = docs(700);
    const reference = new Map<ShuffleKey, Doc>();
    for (const d of input) if (!reference.has(d.word)) reference.set(d.word, d);
    for (const opts of [pool, inline, { ...pool, memoryBudgetBytes: 64 * 1024 }]) {
      const { rows } = await executeDataset(Dataset.fromItems(input, { shards: 4 }).deduplicate(fn(S, byWord), { numShards: 3 }), opts);
      expect(multiset(rows)).toEqual(multiset([...reference.values()]));
    }
  });

  test("deduplicate by id removes exact repeats across shards", async () => {
    const base = docs(200);
    const input = [...base, ...base.slice(50, 150), ...base.slice(0, 10)];
    const { rows } = await executeDataset(Dataset.fromItems(input, { shards: 3 }).deduplicate(fn(S, byId)), pool);
    expect(rows.map((r) => r.id).sort((a, b) => a - b)).toEqual(base.map((d) => d.id));
  });
});
