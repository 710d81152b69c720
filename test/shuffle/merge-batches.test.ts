// A reducer's merged stream comes in small batches (MERGE_BATCH_ENTRIES at most), whatever the
// runs hold, so the decoded records alive at once stay few; every entry still arrives, in key order.
import { describe, expect, it } from "vitest";
import { ShuffleReader, keepFirst } from "../../src/shuffle/index.ts";
import { MERGE_BATCH_ENTRIES, mergeSorted } from "../../src/shuffle/merge.ts";
import type { ShuffleEntry } from "../../src/shuffle/frame.ts";
import { scatter, suiteDir } from "./helpers.ts";

interface Doc {
  key: string;
  text: string;
}

const tmp = suiteDir("merge-batches");
const docs: Doc[] = Array.from({ length: 3000 }, (_, i) => ({ key: `k${String((i * 7919) % 1200).padStart(5, "0")}`, text: `document ${i} `.repeat(20) }));

async function batchesOf(combine?: (a: Doc, b: Doc) => Doc): Promise<Doc[][]> {
  const outputDir = `${tmp.path}/${combine ? "combined" : "plain"}`;
  const sidecars = await scatter([docs.slice(0, 1000), docs.slice(1000, 2000), docs.slice(2000)], { outputDir, numPartitions: 1, key: (d) => d.key, memoryBudgetBytes: 1 << 20 });
  const reader = new ShuffleReader<Doc>({ mapOutputs: sidecars, partition: 0, ...(combine ? { combine } : {}) });
  const batches: Doc[][] = [];
  for await (const batch of reader.batches()) batches.push(batch.map((e) => e.record));
  return batches;
}

describe("merged batches", () => {
  it("hold at most MERGE_BATCH_ENTRIES entries and lose none, in key order", async () => {
    const batches = await batchesOf();
    expect(MERGE_BATCH_ENTRIES).toBeLessThan(docs.length / 4);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(MERGE_BATCH_ENTRIES);
    const keys = batches.flat().map((d) => d.key);
    expect(keys).toEqual(docs.map((d) => d.key).sort());
  });

  it("hold at most MERGE_BATCH_ENTRIES entries when a combiner folds equal keys", async () => {
    const batches = await batchesOf(keepFirst);
    expect(Math.max(...batches.map((b) => b.length))).toBeLessThanOrEqual(MERGE_BATCH_ENTRIES);
    expect(batches.flat().map((d) => d.key)).toEqual([...new Set(docs.map((d) => d.key))].sort());
  });

  it("no longer hold an entry in its source's batch once the merge has passed it on", async () => {
    // Three sorted runs of 600 entries each, in batches of 256 that the test keeps hold of.
    const yielded: ShuffleEntry<Doc>[][] = [];
    const run = async function* (r: number): AsyncGenerator<ShuffleEntry<Doc>[]> {
      const entries = docs.slice(r * 600, (r + 1) * 600).map((d) => ({ key: d.key, sort: undefined, record: d })).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      for (let i = 0; i < entries.length; i += 256) {
        const batch = entries.slice(i, i + 256);
        yielded.push(batch);
        yield batch;
      }
    };
    const passedOn = new Set<ShuffleEntry<Doc>>();
    for await (const out of mergeSorted([run(0), run(1), run(2)])) {
      for (const e of out) passedOn.add(e);
      // Every entry passed on so far is gone from the batches its source yielded.
      expect(yielded.flat().filter((e) => passedOn.has(e))).toEqual([]);
    }
    expect(passedOn.size).toBe(1800);
  });
});
