/**
 * The general operators the built-in steps are written on, each on the pool and the inline
 * executor: iterate (label propagation on a chain converges in as many rounds as the chain is long,
 * and a loop that never settles fails at its round limit), partitionBy (shard p holds the keys
 * partitionOf puts there, sorted by key then sortBy, and without sortBy each key's rows in input
 * order across flushes and spilled merges), routed writes (a row goes to the target its
 * route names; empty targets are omitted or carry the declared schema), token-shard writes, outer
 * joins, the record position user functions see, and bad records by policy (fail at once, skip and
 * count, quarantine to a file).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn, IterationLimitError } from "../../src/index.ts";
import { createPoolRunner, type TaskRunner } from "../../src/internal.ts";
import { readParquetSchema } from "../../src/io/formats.ts";
import { readTokenShard } from "../../src/io/token-shards.ts";
import { partitionOf } from "../../src/shuffle/index.ts";
import { alwaysChanges, byN, evenOrOdd, failUntil, keyMod3, negativeN, nodeId, recipient, spreadLabel, takeMinLabel, tokensOf, withPosition, type ChainNode } from "./fixtures/engine-fns.ts";
import { multiset, readAll, tempDir } from "./helpers.ts";

const E = new URL("./fixtures/engine-fns.ts", import.meta.url).href;
const tmp = tempDir();
let pool: TaskRunner;
beforeAll(() => {
  pool = createPoolRunner({ threads: 2 });
});
afterAll(async () => {
  await pool.close();
  tmp.cleanup();
});
const executors = () => [
  ["pool", { runner: pool, progress: false as const, log: () => {} }],
  ["inline", { executor: "inline" as const, progress: false as const, log: () => {} }],
] as const;

/** A chain 0 - 1 - ... - (n-1), every node labelled with its own id. */
function chain(n: number): ChainNode[] {
  return Array.from({ length: n }, (_, id) => ({ id, label: id, next: [id - 1, id + 1].filter((x) => x >= 0 && x < n) }));
}

describe("iterate", () => {
  test("propagates the minimum label along a chain, one hop per round, until a round changes nothing", async () => {
    for (const [name, opts] of executors()) {
      const ds = Dataset.fromItems(chain(12), { shards: 3 })
        .groupBy(fn(E, nodeId), fn(E, takeMinLabel), { numShards: 4 })
        .iterate((round) => round.flatMap(fn(E, spreadLabel)).groupBy(fn(E, recipient), fn(E, takeMinLabel), { numShards: 4 }), { until: "changed", maxRounds: 50 });
      const { rows, counters } = await executeDataset(ds, opts);
      expect(rows.map((r) => r.label), name).toEqual(new Array(12).fill(0));
      // 11 hops change something; the 12th round changes nothing and ends the loop.
      expect(counters.loops, name).toEqual([{ opId: 3, rounds: 12 }]);
      expect(counters.user.changed, name).toBe(11 * 12 / 2);
    }
  });

  test("a loop that never settles fails with IterationLimitError at maxRounds", async () => {
    const ds = Dataset.fromItems(chain(4)).iterate((round) => round.groupBy(fn(E, nodeId), fn(E, alwaysChanges)), { until: "changed", maxRounds: 3 });
    const err = await executeDataset(ds, executors()[1][1]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IterationLimitError);
    expect((err as Error).message).toMatch(/did not converge in 3 rounds/);
  });
});

describe("partitionBy", () => {
  test("shard p holds exactly the keys partitionOf(key, n) = p, sorted by key and then sortBy", async () => {
    const rows = Array.from({ length: 90 }, (_, n) => ({ n }));
    for (const [name, opts] of executors()) {
      const ds = Dataset.fromItems(rows, { shards: 3 }).partitionBy(fn(E, keyMod3), { sortBy: fn(E, negativeN), numShards: 2 });
      const out = path.join(tmp.dir, `partition-${name}`);
      const { files } = await executeDataset(ds.write(path.join(out, "part-{shard}.jsonl")), opts);
      for (const [shard, file] of files.entries()) {
        const got = (await readAll(file.path)) as Array<{ n: number }>;
        expect(got.every((r) => partitionOf(r.n % 3, 2) === shard), name).toBe(true);
        const expected = [...got].sort((a, b) => a.n % 3 - b.n % 3 || b.n - a.n);
        expect(got, name).toEqual(expected);
      }
      expect(files.reduce((s, f) => s + f.rows, 0)).toBe(90);
    }
  });

  test("without sortBy the rows of one key keep input order (shards in order, then rows), across budget flushes and spilled merges", async () => {
    const rows = Array.from({ length: 3000 }, (_, n) => ({ n, pad: "x".repeat(200) }));
    for (const [name, opts] of executors()) {
      const ds = Dataset.fromItems(rows, { shards: 6 }).partitionBy(fn(E, keyMod3), { numShards: 2 });
      const out = path.join(tmp.dir, `stable-${name}`);
      const { files, counters } = await executeDataset(ds.write(path.join(out, "part-{shard}.jsonl")), { ...opts, memoryBudgetBytes: 64 * 1024 });
      const got = (await Promise.all(files.map((f) => readAll(f.path)))) as Array<Array<{ n: number }>>;
      for (const shard of got) expect(shard.map((r) => r.n), name).toEqual(shard.map((r) => r.n).sort((a, b) => a % 3 - b % 3 || a - b));
      expect(got.flat().length, name).toBe(3000);
      expect(counters.stages[0].shuffle!.budgetFlushes, name).toBeGreaterThan(0);
      expect(counters.stages[1].shuffle!.spilledRuns, name).toBeGreaterThan(0);
    }
  });
});

describe("writes", () => {
  test("a routed write sends each row to its target; an empty target is omitted or written with its schema", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ n: i * 2 + (i < 20 ? 0 : 1) }));
    for (const [name, opts] of executors()) {
      const out = path.join(tmp.dir, `routed-${name}`);
      // Shard 0 gets only even numbers, shard 1 only odd ones.
      const ds = Dataset.fromItems(rows, { shards: 2 });
      const routed = ds.write({ even: path.join(out, "even/part-{shard}.parquet"), odd: path.join(out, "odd/part-{shard}.parquet") }, { route: fn(E, evenOrOdd), schema: { n: "int64" } });
      const { outputs, files } = await executeDataset(routed, opts);
      expect(outputs.even.map((p) => path.basename(p)), name).toEqual(["part-00000.parquet", "part-00001.parquet"]);
      expect(files.map((f) => `${f.tag}:${f.rows}`).sort(), name).toEqual(["even:0", "even:20", "odd:0", "odd:20"]);
      expect(await readParquetSchema(path.join(out, "odd/part-00000.parquet")), name).toEqual({ n: "int64" });
      const omitted = await executeDataset(ds.write({ even: path.join(out, "e2/part-{shard}.jsonl"), odd: path.join(out, "o2/part-{shard}.jsonl") }, { route: fn(E, evenOrOdd), omitEmpty: true }), opts);
      expect(omitted.files.map((f) => path.relative(out, f.path)).sort(), name).toEqual(["e2/part-00000.jsonl", "o2/part-00001.jsonl"]);
      expect(existsSync(path.join(out, "o2/part-00000.jsonl"))).toBe(false);
    }
  });

  test("an empty parquet shard without a declared schema takes its siblings' schema", async () => {
    const out = path.join(tmp.dir, "sibling");
    const ds = Dataset.fromItems([{ n: 1, word: "a" }], { shards: 1 }).partitionBy(fn(E, byN), { numShards: 3 });
    const { files } = await executeDataset(ds.write(path.join(out, "part-{shard}-of-{total}.parquet")), executors()[0][1]);
    expect(files.filter((f) => f.rows === 0)).toHaveLength(2);
    for (const f of files) expect(await readParquetSchema(f.path)).toEqual({ n: "int64", word: "string" });
  });

  test("token shards: each row's ids in order, uint16 for a small vocabulary", async () => {
    const out = path.join(tmp.dir, "tokens");
    const ds = Dataset.fromItems(Array.from({ length: 10 }, (_, n) => ({ n })), { shards: 2 }).map(fn(E, tokensOf));
    const { files } = await executeDataset(ds.write(path.join(out, "part-{shard}.bin"), { vocabSize: 100 }), executors()[0][1]);
    const shard = await readTokenShard(files[0].path);
    expect(shard.dtype).toBe(2);
    expect([...shard.tokens]).toEqual([0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6]);
    expect(files.map((f) => f.rows)).toEqual([5, 5]);
  });
});

describe("joins and positions", () => {
  test("an outer join keeps unmatched rows of both sides", async () => {
    const left = Dataset.fromItems([1, 2, 4].map((n) => ({ n })));
    const right = Dataset.fromItems([2, 3, 4, 5].map((n) => ({ n })));
    for (const [name, opts] of executors()) {
      const { rows } = await executeDataset(left.sortedMergeJoin(right, { leftKey: fn(E, byN), rightKey: fn(E, byN), how: "outer" }), opts);
      const pairs = rows.map((r) => [r.left?.n ?? null, r.right?.n ?? null]);
      expect(multiset(pairs), name).toEqual(multiset([[1, null], [2, 2], [null, 3], [4, 4], [null, 5]]));
    }
  });

  test("user functions see the file and line of the record they process", async () => {
    const file = path.join(tmp.dir, "positions.jsonl");
    writeFileSync(file, '{"n":1}\n\n{"n":2}\n');
    const { rows } = await executeDataset(Dataset.read<{ n: number }>(file).map(fn(E, withPosition)), executors()[0][1]);
    expect(rows).toEqual([{ n: 1, at: "positions.jsonl:line:1" }, { n: 2, at: "positions.jsonl:line:3" }]);
  });
});

describe("bad records and retries", () => {
  const file = path.join(tmp.dir, "bad.jsonl");
  beforeAll(() => writeFileSync(file, '{"n":1}\n{"n":2\n{"n":3}\nnot json\n{"n":5}\n'));

  test("fail: the first bad record fails the read at once, without retries", async () => {
    const lines: string[] = [];
    const err = await executeDataset(Dataset.read(file), { runner: pool, progress: false, log: (l) => lines.push(l) }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("KILN_MALFORMED_RECORD");
    expect((err as Error).message).toContain("line 2");
    expect(lines.filter((l) => l.includes("retrying"))).toEqual([]);
  });

  test("skip counts by reason; quarantine also writes the records with file, line and reason", async () => {
    const skipped = await executeDataset(Dataset.read(file, { onBadRecord: "skip" }), executors()[0][1]);
    expect(skipped.rows).toEqual([{ n: 1 }, { n: 3 }, { n: 5 }]);
    expect(skipped.counters.stages[0].rejected).toEqual({ "malformed-json": 2 });
    const folder = path.join(tmp.dir, "quarantine");
    const kept = await executeDataset(Dataset.read(file, { onBadRecord: "quarantine", quarantine: folder }), executors()[0][1]);
    expect(kept.rows).toHaveLength(3);
    const lines = readFileSync(path.join(folder, "shard-00000.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.line, l.reason, l.raw])).toEqual([[2, "malformed-json", '{"n":2'], [4, "malformed-json", "not json"]]);
  });

  test("a user function that throws twice is retried and succeeds on its third attempt", async () => {
    const lines: string[] = [];
    const ds = Dataset.fromItems([{ n: 1 }, { n: 2 }], { shards: 2 }).map(fn(E, failUntil, { until: 3 }));
    const { rows, counters } = await executeDataset(ds, { runner: pool, progress: false, log: (l) => lines.push(l) });
    expect(rows).toEqual([{ n: 1 }, { n: 2 }]);
    expect(counters.stages[0].retries).toBe(2);
    expect(lines.filter((l) => l.includes("retrying"))).toHaveLength(2);
  });
});
