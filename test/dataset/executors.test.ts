/**
 * Inline and pool executors on real files (jsonl, jsonl.zst, parquet) and inline rows: the same
 * plan gives the same multiset of rows (and the same counts, sums and written files) on both, and
 * both agree with the same computation done directly on the input rows.
 */
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn, where } from "../../src/index.ts";
import { createPoolRunner, createResolver, flattenCounters, runTask } from "../../src/internal.ts";
import type { TaskDescriptor, TaskRunner } from "../../src/internal.ts";
import { countLong, double, explode, isEven, minFilter, sumCombine, sumFold, tagShard } from "./fixtures/user-fns.ts";
import type { Num } from "./fixtures/user-fns.ts";
import { FIXTURES as U, makeRows, multiset, readAll, tempDir, writeFile } from "./helpers.ts";

const tmp = tempDir();
const all = [...makeRows(0, 120), ...makeRows(120, 80), ...makeRows(200, 150)];
const inline = { executor: "inline", progress: false } as const;
// One worker pool for the file (worker start-up is the slow part); the write test uses the
// default path, where executeDataset starts and stops its own pool.
const workers = createPoolRunner({ threads: 2 });
const pool = { runner: workers, progress: false } as const;

beforeAll(async () => {
  await writeFile(path.join(tmp.dir, "in/a.jsonl.zst"), all.slice(0, 120), "jsonl.zst");
  await writeFile(path.join(tmp.dir, "in/b.jsonl.zst"), all.slice(120, 200), "jsonl.zst");
  await writeFile(path.join(tmp.dir, "in/c.jsonl"), all.slice(200), "jsonl");
  await writeFile(path.join(tmp.dir, "pq/all.parquet"), all, "parquet");
});
afterAll(async () => {
  await workers.close();
  tmp.cleanup();
});

async function both<T>(ds: Dataset<T>): Promise<T[]> {
  const a = await executeDataset(ds, inline);
  const b = await executeDataset(ds, pool);
  expect(multiset(b.rows)).toEqual(multiset(a.rows));
  expect(b.counters.stages.map((s) => [s.recordsIn, s.recordsOut])).toEqual(a.counters.stages.map((s) => [s.recordsIn, s.recordsOut]));
  return a.rows;
}

describe("inline and pool agree", () => {
  test("jsonl + jsonl.zst (byte-range splits) -> map -> type-guard filter", async () => {
    const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*"), { splitBytes: 1500 }).map(fn(U, double)).filter(fn(U, isEven));
    const rows = await both(ds);
    expect(multiset(rows)).toEqual(multiset(all.filter((r) => r.n % 2 === 0).map((r) => ({ ...r, doubled: r.n * 2 }))));
  });

  test("flatMap -> mapShard -> reshard -> window over inline rows", async () => {
    const ds = Dataset.fromItems<Num>(all, { shards: 3 }).flatMap(fn(U, explode)).mapShard(fn(U, tagShard)).reshard(4).window(5);
    const rows = await both(ds);
    const flat = rows.flat();
    expect(flat.length).toBe(all.reduce((s, r) => s + (r.n % 3), 0));
    expect(rows.every((w) => w.length >= 1 && w.length <= 5)).toBe(true);
  });

  test("parquet with pushed-down where and select -> count", async () => {
    const ds = Dataset.read<Num & { lang: string }>(path.join(tmp.dir, "pq/*.parquet")).filter(where("lang", "==", "en")).select("n", "lang");
    const rows = await both(ds);
    expect(multiset(rows)).toEqual(multiset(all.filter((r) => r.lang === "en").map((r) => ({ n: r.n, lang: r.lang }))));
    const count = ds.count();
    const [a, b] = [await executeDataset(count, inline), await executeDataset(count, pool)];
    expect(a.value).toBe(all.filter((r) => r.lang === "en").length);
    expect(b.value).toBe(a.value);
  });

  test("reduce (local fold, gather, global fold) and user counters", async () => {
    const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*.jsonl.zst")).map(fn(U, countLong)).filter(fn(U, minFilter, { min: 10 }));
    const reduce = ds.reduce(0, fn(U, sumFold), fn(U, sumCombine));
    const [a, b] = [await executeDataset(reduce, inline), await executeDataset(reduce, pool)];
    const input = all.slice(0, 200);
    expect(a.value).toBe(input.filter((r) => r.n >= 10).reduce((s, r) => s + r.n, 0));
    expect(b.value).toBe(a.value);
    const longWords = input.filter((r) => r.word.length > 4).length;
    expect(a.counters.user).toEqual({ long_words: longWords });
    expect(b.counters.user).toEqual({ long_words: longWords });
    const flat = flattenCounters(b.counters);
    expect(flat["user.long_words"]).toBe(longWords);
    expect(flat["stage0.recordsIn"]).toBe(input.length);
    expect(flat["stage0.recordsOut"]).toBe(input.filter((r) => r.n >= 10).length);
    expect(flat["stage0.bytesIn"]).toBeGreaterThan(0);
  });

  test("take after reshard returns n rows from the input", async () => {
    const ds = Dataset.fromItems<Num>(all, { shards: 4 }).reshard(3).take(7);
    const a = await executeDataset(ds, inline);
    const b = await executeDataset(ds, pool);
    expect(a.rows).toHaveLength(7);
    expect(b.rows).toEqual(a.rows); // deterministic: shard order, round-robin from a fixed start
    const known = new Set(multiset(all));
    for (const r of multiset(a.rows)) expect(known.has(r)).toBe(true);
  });

  test("write with {shard}/{total}; skipExisting skips committed shards", async () => {
    const ds = Dataset.fromItems<Num>(all, { shards: 3 }).map(fn(U, double));
    const outA = await executeDataset(ds.write(path.join(tmp.dir, "outA/part-{shard}-of-{total}.jsonl.zst")), inline);
    const outB = await executeDataset(ds.write(path.join(tmp.dir, "outB/part-{shard}-of-{total}.parquet")), { executor: "pool", threads: 2, progress: false });
    expect(outA.outputs.map((p) => path.basename(p))).toEqual(["part-00000-of-00003.jsonl.zst", "part-00001-of-00003.jsonl.zst", "part-00002-of-00003.jsonl.zst"]);
    const rowsA = await readAll(outA.outputs);
    expect(multiset(await readAll(outB.outputs))).toEqual(multiset(rowsA));
    expect(multiset(rowsA)).toEqual(multiset(all.map((r) => ({ ...r, doubled: r.n * 2 }))));
    expect(outA.counters.stages[0].bytesOut).toBeGreaterThan(0);

    const again = await executeDataset(ds.write(path.join(tmp.dir, "outA/part-{shard}-of-{total}.jsonl.zst"), { skipExisting: true }), inline);
    expect(again.counters.stages[0].skipped).toBe(3);
    expect(again.counters.stages[0].recordsIn).toBe(0);
    expect(again.outputs).toEqual(outA.outputs);
  });
});

describe("task descriptors", () => {
  test("are plain JSON: a runner that only receives JSON text gives the inline result", async () => {
    const received: TaskDescriptor[] = [];
    const resolve = createResolver();
    const jsonRunner: TaskRunner = {
      concurrency: 2,
      async run(desc) {
        const text = JSON.stringify(desc);
        const copy = JSON.parse(text) as TaskDescriptor;
        expect(copy).toStrictEqual(desc);
        received.push(copy);
        return runTask(copy, resolve);
      },
      async close() {},
    };
    const ds = Dataset.read<Num>(path.join(tmp.dir, "in/*.jsonl.zst")).map(fn(U, double)).reshard(3).filter(fn(U, isEven)).take(20);
    const viaJson = await executeDataset(ds, { runner: jsonRunner, progress: false });
    const reference = await executeDataset(ds, inline);
    expect(viaJson.rows).toEqual(reference.rows);
    // take(20) runs its shards in waves of the runner's concurrency: the first two shards already
    // give 20 rows, so the third is never run.
    expect(received.map((d) => [d.stageId, d.shard, d.shardCount, d.input.kind, d.output.kind])).toEqual([
      [0, 0, 2, "split", "exchange"],
      [0, 1, 2, "split", "exchange"],
      [1, 0, 3, "exchange", "exchange"],
      [1, 1, 3, "exchange", "exchange"],
      [2, 0, 1, "exchange", "collect"],
    ]);
  });
});
