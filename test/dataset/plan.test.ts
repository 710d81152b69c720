/**
 * Plans are data: every logical and physical plan survives a JSON round trip unchanged and plans
 * the same way afterwards; EXPLAIN output matches the golden files under test/golden (regenerate
 * with KILN_UPDATE_GOLDEN=1); filters and selects push into parquet reads only; and the pool
 * refuses a plan holding a closure, naming the operator.
 */
import path from "node:path";
import { describe, expect, test } from "vitest";
import { Dataset, executeDataset, explainPlan, fn, PlanNotPortableError, where, DatasetPlanError } from "../../src/index.ts";
import { planPhysical } from "../../src/internal.ts";
import { countLong, double, explode, isEven, minFilter, sumCombine, sumFold, tagShard } from "./fixtures/user-fns.ts";
import type { Num } from "./fixtures/user-fns.ts";
import { expectExplainMatchesGolden, expectPlanSurvivesJson } from "./plan-checks.ts";

const U = new URL("./fixtures/user-fns.ts", import.meta.url).href;
const items: Num[] = Array.from({ length: 12 }, (_, i) => ({ n: i, word: `w${i}` }));

const plans = {
  "parquet-pushdown": Dataset.read<Num & { lang: string }>("data/docs-*.parquet")
    .filter(where("lang", "==", "en"))
    .select("lang", "n", "word")
    .map(fn(U, double))
    .write("out/part-{shard}-of-{total}.parquet"),
  "parquet-select-needs-predicate-column": Dataset.read<Num & { score: number }>(["a.parquet", "b.parquet"])
    .filter(where("score", ">=", 0.5))
    .select("word")
    .count(),
  "jsonl-no-pushdown": Dataset.read<Num>("data/*.jsonl.zst", { splitBytes: 1 << 20 })
    .filter(where("n", ">", 3))
    .select("n")
    .take(10),
  "fused-chain-reshard-take": Dataset.fromItems(items, { shards: 3 })
    .map(fn(U, countLong))
    .filter(fn(U, minFilter, { min: 2 }))
    .flatMap(fn(U, explode))
    .mapShard(fn(U, tagShard))
    .reshard(4)
    .window(2)
    .take(3),
  reduce: Dataset.fromItems(items, { shards: 2 }).filter(fn(U, isEven)).reduce(0, fn(U, sumFold), fn(U, sumCombine)),
};

describe("plans as data", () => {
  for (const [name, ds] of Object.entries(plans)) {
    test(`${name}: logical and physical plans survive JSON round trips`, () => {
      expectPlanSurvivesJson(ds);
    });

    test(`${name}: explain() matches test/golden/${name}.explain.txt`, () => {
      const text = expectExplainMatchesGolden(name, ds);
      expect(ds.explain()).toBe(text); // deterministic
    });
  }

  test("where and select push into parquet reads, never into jsonl reads", () => {
    const pq = planPhysical(plans["parquet-pushdown"].logicalPlan()).stages[0];
    expect(pq.input).toMatchObject({ kind: "read", format: "parquet", columns: ["lang", "n", "word"], where: [{ column: "lang", op: "==", value: "en" }] });
    // The select is absorbed by the read; the filter stays in the chain as a safety net.
    expect(pq.ops.map((o) => o.kind)).toEqual(["filter", "map"]);

    const needs = planPhysical(plans["parquet-select-needs-predicate-column"].logicalPlan()).stages[0];
    expect(needs.input).toMatchObject({ columns: ["word", "score"] });
    expect(needs.ops.map((o) => o.kind)).toEqual(["filter", "select"]);

    // A count reads no column of its own: none after a bare read, the filter's column after a where, every column after a map.
    const counted = (ds: { logicalPlan(): Parameters<typeof planPhysical>[0] }) => planPhysical(ds.logicalPlan()).stages[0].input;
    expect(counted(Dataset.read<Num>("d/*.parquet").count())).toMatchObject({ columns: [] });
    expect(counted(Dataset.read<Num>("d/*.parquet").filter(where("n", ">", 3)).count())).toMatchObject({ columns: ["n"], where: [{ column: "n" }] });
    expect(counted(Dataset.read<Num>("d/*.parquet").map(fn(U, double)).count())).not.toHaveProperty("columns");
    expect(counted(Dataset.read<Num>("d/*.jsonl").count())).not.toHaveProperty("columns");

    const jsonl = planPhysical(plans["jsonl-no-pushdown"].logicalPlan()).stages[0];
    expect(jsonl.input).not.toHaveProperty("columns");
    expect(jsonl.input).not.toHaveProperty("where");
    expect(jsonl.ops.map((o) => o.kind)).toEqual(["filter", "select", "limit"]);
  });

  test("narrow operators fuse into one stage; reshard and take start new stages", () => {
    const physical = planPhysical(plans["fused-chain-reshard-take"].logicalPlan());
    expect(physical.stages.map((s) => [s.shards, s.ops.map((o) => o.kind), s.output.kind])).toEqual([
      [3, ["map", "filter", "flatMap", "mapShard"], "exchange"],
      [4, ["window", "limit"], "exchange"],
      [1, ["limit"], "collect"],
    ]);
  });
});

describe("closures", () => {
  test("the pool refuses a plan with a closure and names the operator", async () => {
    const ds = Dataset.fromItems(items).map(fn(U, double)).map((r) => r.n);
    const run = executeDataset(ds, { executor: "pool", threads: 1, progress: false });
    await expect(run).rejects.toBeInstanceOf(PlanNotPortableError);
    await expect(run).rejects.toThrow(/map #3 \(closure\)/);
    const reduce = Dataset.fromItems(items).reduce(0, (a: number, r: Num) => a + r.n, fn(U, sumCombine));
    await expect(executeDataset(reduce, { executor: "pool", progress: false })).rejects.toThrow(/reduce #2 \(closure\) fold/);
  });

  test("a closure's plan records only a placeholder, so it stays JSON", () => {
    const logical = Dataset.fromItems(items).map((r) => r.n * 2).logicalPlan();
    expect(logical.ops[1]).toEqual({ id: 2, kind: "map", fn: { kind: "closure", label: "map #2" } });
  });

  test("fn() refuses what it cannot reference", () => {
    expect(() => fn(U, () => 1)).toThrow(DatasetPlanError);
    expect(() => fn("not-a-url", double)).toThrow(/not a module URL/);
    expect(() => Dataset.fromItems([{ when: new Date(0) }])).toThrow(/\[0\]\.when is a Date/);
  });
});
