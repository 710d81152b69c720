/**
 * sortedMergeJoin on real worker threads and inline: inner and left joins of co-partitioned,
 * sorted inputs (made with groupBy/deduplicate on the key with the same numShards, duplicates on
 * both sides) against a nested-loop reference; the errors for inputs that are not co-partitioned
 * or not sorted, naming the side, shard and row; closures of both sides kept apart inline.
 */
import { afterAll, describe, expect, test } from "vitest";
import { Dataset, executeDataset, fn, JoinInputError } from "../../src/index.ts";
import { createPoolRunner } from "../../src/internal.ts";
import type { ExecuteOptions } from "../../src/index.ts";
import { byId, collectRows, unpackRows } from "./fixtures/shuffle-fns.ts";
import type { Doc } from "./fixtures/shuffle-fns.ts";
import { multiset } from "./helpers.ts";

const S = new URL("./fixtures/shuffle-fns.ts", import.meta.url).href;
const workers = createPoolRunner({ threads: 2 });
const quiet = () => {};
const pool: ExecuteOptions = { runner: workers, progress: false, log: quiet };
const inline: ExecuteOptions = { executor: "inline", progress: false, log: quiet };
afterAll(() => workers.close());

const leftRows: Doc[] = Array.from({ length: 150 }, (_, i) => ({ id: (i * 7) % 50, word: "L", text: `left ${i}` }));
const rightRows: Doc[] = Array.from({ length: 80 }, (_, i) => ({ id: ((i * 3) % 60) + 20, word: "R", text: `right ${i}` }));

/** Rows sorted by id within each of `shards` hash shards, duplicates kept. */
function sortedByKey(rows: Doc[], shards: number, inputShards: number): Dataset<Doc> {
  return Dataset.fromItems(rows, { shards: inputShards }).groupBy(fn(S, byId), fn(S, collectRows), { numShards: shards }).flatMap(fn(S, unpackRows));
}

function reference(how: "inner" | "left"): Array<{ left: Doc; right: Doc | null }> {
  const out: Array<{ left: Doc; right: Doc | null }> = [];
  for (const l of leftRows) {
    const matches = rightRows.filter((r) => r.id === l.id);
    for (const r of matches) out.push({ left: l, right: r });
    if (how === "left" && matches.length === 0) out.push({ left: l, right: null });
  }
  return out;
}

describe("sortedMergeJoin", () => {
  for (const how of ["inner", "left"] as const) {
    test(`${how} join matches a nested-loop reference (pool and inline)`, async () => {
      const build = () => sortedByKey(leftRows, 4, 3).sortedMergeJoin(sortedByKey(rightRows, 4, 2), { leftKey: fn(S, byId), rightKey: fn(S, byId), how });
      const expected = multiset(reference(how));
      expect(expected.length).toBeGreaterThan(how === "inner" ? 50 : 150);
      const a = await executeDataset(build(), pool);
      expect(multiset(a.rows)).toEqual(expected);
      const b = await executeDataset(build(), inline);
      expect(multiset(b.rows)).toEqual(expected);
      // Stages: left scatter, right scatter, right reduce (aligned files), left reduce fused with the join.
      expect(a.counters.stages.map((s) => s.shards)).toEqual([3, 2, 4, 4]);
    });
  }

  test("deduplicated inputs join one to one; operators after the join run in its stage", async () => {
    const ds = Dataset.fromItems(leftRows, { shards: 2 })
      .deduplicate(fn(S, byId), { numShards: 3 })
      .sortedMergeJoin(Dataset.fromItems(rightRows, { shards: 3 }).deduplicate(fn(S, byId), { numShards: 3 }), { leftKey: fn(S, byId), rightKey: fn(S, byId) })
      .count();
    const { value } = await executeDataset(ds, pool);
    const common = new Set(leftRows.map((r) => r.id).filter((id) => rightRows.some((r) => r.id === id)));
    expect(value).toBe(common.size);
  });

  test("inputs with different shard counts are not co-partitioned", async () => {
    const ds = sortedByKey(leftRows, 2, 2).sortedMergeJoin(sortedByKey(rightRows, 3, 2), { leftKey: fn(S, byId), rightKey: fn(S, byId) });
    const err = await executeDataset(ds, pool).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoinInputError);
    expect((err as Error).message).toMatch(/not co-partitioned: the left input has 2 shard\(s\), the right input has 3/);
  });

  test("an unsorted left shard fails naming the side, shard and row", async () => {
    // Shard 1 of the left input holds ids 5, 9, 3: row 3 goes backwards.
    const left = Dataset.fromItems<Doc>([0, 1, 2, 5, 9, 3].map((id) => ({ id, word: "L", text: "" })), { shards: 2 });
    const right = Dataset.fromItems<Doc>([0, 1, 2, 3, 5, 9].map((id) => ({ id, word: "R", text: "" })), { shards: 2 });
    const ds = left.sortedMergeJoin(right, { leftKey: fn(S, byId), rightKey: fn(S, byId) });
    const err = await executeDataset(ds, inline).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JoinInputError);
    // Row 6 of the inline items is the third row of shard 1.
    expect((err as Error).message).toBe("sortedMergeJoin #2: the left input is not sorted by its key: inline items of shard 1 row 6 has key 3 after key 9");
    const viaPool = await executeDataset(ds, pool).catch((e: unknown) => e);
    expect((viaPool as { code?: string }).code).toBe("KILN_JOIN_INPUT");
    expect((viaPool as Error).message).toContain("left input is not sorted by its key: inline items of shard 1 row 6");
  });

  test("an unsorted right tail is reported even after the left side ran out", async () => {
    const left = Dataset.fromItems<Doc>([{ id: 1, word: "L", text: "" }]);
    const right = Dataset.fromItems<Doc>([1, 2, 8, 4].map((id) => ({ id, word: "R", text: "" })));
    const err = await executeDataset(left.sortedMergeJoin(right, { leftKey: fn(S, byId), rightKey: fn(S, byId) }), inline).catch((e: unknown) => e);
    expect((err as Error).message).toContain("the right input is not sorted by its key: inline items of shard 0 row 4 has key 4 after key 8");
  });

  test("inline: closures of the left and the right plan stay apart", async () => {
    const left = Dataset.fromItems([{ id: 1 }, { id: 2 }]).map((r) => ({ ...r, side: "left" }));
    const right = Dataset.fromItems([{ id: 2 }, { id: 3 }]).map((r) => ({ ...r, side: "right" }));
    const ds = left.sortedMergeJoin(right, { leftKey: (r) => r.id, rightKey: (r) => r.id, how: "left" });
    const { rows } = await executeDataset(ds, inline);
    expect(rows).toEqual([
      { left: { id: 1, side: "left" }, right: null },
      { left: { id: 2, side: "left" }, right: { id: 2, side: "right" } },
    ]);
  });
});
