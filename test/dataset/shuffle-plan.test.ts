/**
 * Shuffle plans are data: groupBy, deduplicate and sortedMergeJoin plans survive JSON round trips,
 * EXPLAIN shows the scatter / reduce / join boundaries and matches the golden files under
 * test/golden (regenerate with KILN_UPDATE_GOLDEN=1), every task descriptor of such a plan runs
 * after a JSON round trip, the pool refuses closures in shuffle operators naming the slot, and
 * bad options fail while the plan is built.
 */
import path from "node:path";
import { describe, expect, expectTypeOf, test } from "vitest";
import { Dataset, DatasetPlanError, executeDataset, explainPlan, fn, PlanNotPortableError } from "../../src/index.ts";
import { createPoolRunner, planPhysical } from "../../src/internal.ts";
import type { KeyCount } from "../../src/index.ts";
import type { TaskDescriptor, TaskRunner } from "../../src/internal.ts";
import type { ShuffleKey } from "../../src/shuffle/index.ts";
import { addCounts, byId, byWord, collectIds, collectRows, idDescending, sumCounts, toWordCount, unpackRows } from "./fixtures/shuffle-fns.ts";
import type { Doc } from "./fixtures/shuffle-fns.ts";
import { multiset } from "./helpers.ts";
import { expectExplainMatchesGolden, expectPlanSurvivesJson } from "./plan-checks.ts";

const S = new URL("./fixtures/shuffle-fns.ts", import.meta.url).href;
const docs: Doc[] = Array.from({ length: 40 }, (_, id) => ({ id, word: ["a", "b", "c", null][id % 4], text: `t${id}` }));

const plans = {
  "groupby-sortby-combiner": Dataset.read<Doc>("data/docs-*.parquet")
    .map(fn(S, toWordCount))
    .groupBy(fn(S, byWord), fn(S, sumCounts), { combiner: fn(S, addCounts), numShards: 8 })
    .write("out/counts-{shard}.jsonl.zst"),
  "deduplicate-then-groupby": Dataset.fromItems(docs, { shards: 2 })
    .deduplicate(fn(S, byId))
    .groupBy(fn(S, byWord), fn(S, collectIds), { sortBy: fn(S, idDescending) })
    .count(),
  "sorted-merge-join": Dataset.fromItems(docs, { shards: 2 })
    .groupBy(fn(S, byId), fn(S, collectRows), { numShards: 3 })
    .flatMap(fn(S, unpackRows))
    .sortedMergeJoin(Dataset.read<Doc>("data/right-*.jsonl").deduplicate(fn(S, byId), { numShards: 3 }), {
      leftKey: fn(S, byId),
      rightKey: fn(S, byId),
      how: "left",
    }),
};

describe("shuffle plans as data", () => {
  for (const [name, ds] of Object.entries(plans)) {
    test(`${name}: plans survive JSON round trips`, () => {
      expectPlanSurvivesJson(ds);
    });

    test(`${name}: explain() matches test/golden/${name}.explain.txt`, () => {
      expectExplainMatchesGolden(name, ds);
    });
  }

  test("stage boundaries: scatter ends a stage, a shuffle reduce starts the next; a join fuses into the left stage beside its right side's aligned files", () => {
    const g = planPhysical(plans["groupby-sortby-combiner"].logicalPlan());
    expect(g.stages.map((s) => [s.input.kind, s.output.kind])).toEqual([["read", "scatter"], ["shuffle", "write"]]);
    expect(g.stages[1].shards).toBe(8);
    const d = planPhysical(plans["deduplicate-then-groupby"].logicalPlan());
    expect(d.stages.map((s) => [s.input.kind, s.output.kind])).toEqual([["items", "scatter"], ["shuffle", "scatter"], ["shuffle", "count"]]);
    expect(d.stages[2].shards).toEqual({ asStage: 1 });
    const j = planPhysical(plans["sorted-merge-join"].logicalPlan());
    expect(j.stages.map((s) => [s.id, s.input.kind, s.output.kind])).toEqual([
      [0, "items", "scatter"],
      [1, "read", "scatter"],
      [2, "shuffle", "exchange"],
      [3, "shuffle", "collect"],
    ]);
    expect(j.stages[2].output).toMatchObject({ kind: "exchange", partitioning: "aligned" });
    expect(j.stages[3].ops.map((o) => o.kind)).toEqual(["flatMap", "join"]);
    expect(j.stages[3].ops[1]).toMatchObject({ kind: "join", how: "left", right: { kind: "stage", stage: 2 } });
  });

  test("every task descriptor runs after a JSON round trip and gives the same rows", async () => {
    const workers = createPoolRunner({ threads: 2 });
    const seen: TaskDescriptor[] = [];
    const viaJson: TaskRunner = {
      concurrency: 2,
      run(desc) {
        const copy = JSON.parse(JSON.stringify(desc)) as TaskDescriptor;
        expect(copy).toStrictEqual(desc);
        seen.push(copy);
        return workers.run(copy);
      },
      close: async () => {},
    };
    try {
      const ds = Dataset.fromItems(docs, { shards: 2 })
        .groupBy(fn(S, byId), fn(S, collectRows), { numShards: 3 })
        .flatMap(fn(S, unpackRows))
        .sortedMergeJoin(Dataset.fromItems(docs, { shards: 3 }).deduplicate(fn(S, byId), { numShards: 3 }), { leftKey: fn(S, byId), rightKey: fn(S, byId) });
      const { rows } = await executeDataset(ds, { runner: viaJson, progress: false, log: () => {} });
      expect(multiset(rows)).toEqual(multiset(docs.map((d) => ({ left: d, right: d }))));
      expect(new Set(seen.map((d) => `${d.input.kind}->${d.output.kind}`))).toEqual(
        new Set(["items->scatter", "shuffle->exchange", "shuffle->collect"]),
      );
    } finally {
      await workers.close();
    }
  });

  test("the pool refuses closures in shuffle operators, naming the slot", async () => {
    const ds = Dataset.fromItems(docs).groupBy((d) => d.word, fn(S, collectIds));
    await expect(executeDataset(ds, { progress: false })).rejects.toThrow(PlanNotPortableError);
    await expect(executeDataset(ds, { progress: false })).rejects.toThrow(/groupBy #2 \(closure\) key is a closure/);
    const join = Dataset.fromItems(docs).sortedMergeJoin(Dataset.fromItems(docs).map((d) => d), { leftKey: fn(S, byId), rightKey: fn(S, byId) });
    await expect(executeDataset(join, { progress: false })).rejects.toThrow(/map #2 \(closure\) is a closure/);
  });

  test("bad options fail while the plan is built", () => {
    const ds = Dataset.fromItems(docs);
    expect(() => ds.groupBy(fn(S, byWord), fn(S, collectIds), { numShards: 0 })).toThrow(DatasetPlanError);
    expect(() => ds.deduplicate(fn(S, byWord), { numShards: 1.5 })).toThrow(/numShards.*not a positive integer/);
    expect(() => ds.groupBy("byWord" as never, fn(S, collectIds))).toThrow(/groupBy #2 key: expected a function/);
    expect(() => ds.sortedMergeJoin(ds.count() as never, { leftKey: fn(S, byId), rightKey: fn(S, byId) })).toThrow(/not a Dataset/);
    expect(() => ds.sortedMergeJoin(ds, { leftKey: fn(S, byId), rightKey: fn(S, byId), how: "full" as never })).toThrow(/how "full"/);
  });

  test("row types flow through groupBy, deduplicate, countByKey and sortedMergeJoin", () => {
    const ds = Dataset.fromItems(docs);
    expectTypeOf(ds.groupBy(fn(S, byWord), fn(S, collectIds))).toEqualTypeOf<Dataset<{ key: ShuffleKey; ids: number[] }>>();
    expectTypeOf(ds.deduplicate(fn(S, byId))).toEqualTypeOf<Dataset<Doc>>();
    expectTypeOf(ds.countByKey(fn(S, byWord))).toEqualTypeOf<Dataset<KeyCount>>();
    const other = Dataset.fromItems([{ id: 1, score: 0.5 }]);
    expectTypeOf(ds.sortedMergeJoin(other, { leftKey: fn(S, byId), rightKey: (r) => r.id })).toEqualTypeOf<Dataset<{ left: Doc; right: { id: number; score: number } }>>();
    expectTypeOf(ds.sortedMergeJoin(other, { leftKey: fn(S, byId), rightKey: (r) => r.id, how: "left" })).toEqualTypeOf<
      Dataset<{ left: Doc; right: { id: number; score: number } | null }>
    >();
    // @ts-expect-error the reducer must accept the dataset's rows
    ds.groupBy(fn(S, byWord), fn(S, sumCounts));
  });

  test("memoryBudgetBytes below 64 KiB is refused", async () => {
    const ds = Dataset.fromItems(docs).groupBy(fn(S, byWord), fn(S, collectIds));
    await expect(executeDataset(ds, { executor: "inline", progress: false, memoryBudgetBytes: 1000 })).rejects.toThrow(/memoryBudgetBytes 1000/);
  });
});
