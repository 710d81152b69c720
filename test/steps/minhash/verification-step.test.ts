/**
 * The dedup step's candidate verification through the real engine (parquet sources, shuffle, joins
 * with the source parts, worker threads): a crafted pair that shares a band but is under the
 * threshold stays apart (and is joined without verification); on Brown documents with two copies
 * each with 3 % of their words replaced, spread over two sources, precision and recall at the
 * defaults are above a floor, clusters equal the in-memory reference's, the cluster rows give each
 * cluster's id, canonical source and size, and the counters add up.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildCopySet, findNearDuplicates, minhashDedupStep, nodeKey, resolveSettings, scoreDedup, type DupClusterRecord, type MinHashDedupResult } from "../../../src/steps/minhash/index.ts";
import { brownDocuments } from "./corpora.ts";
import { craftedPair } from "./crafted-pair.ts";
import { runDedupStep } from "./run-step.ts";
import { normalizedSourceStep, readParquetFiles, type FixtureDoc } from "./normalized-fixture.ts";

async function recordsOf(outputPath: string, source: string): Promise<DupClusterRecord[]> {
  return [...(await readParquetFiles(path.join(outputPath, source, "outputs/main/*.parquet"))).values()].flat() as DupClusterRecord[];
}

describe("MinHash dedup step: candidate verification", () => {
  it("keeps apart a crafted pair that shares a band but is under the threshold", async () => {
    const pair = craftedPair(resolveSettings({}, "test"));
    const filler = brownDocuments({ minWords: 120 }).slice(50, 60);
    const docs: FixtureDoc[] = [{ id: "pair-a", text: pair.a }, { id: "pair-b", text: pair.b }, ...filler.map((text, i) => ({ id: `filler-${i}`, text }))];
    const verified = await runDedupStep(minhashDedupStep({ name: "dedup/crafted", sources: { s: normalizedSourceStep("crafted", docs, 2) }, threads: 0 }));
    expect(verified.result.candidatePairs).toBeGreaterThanOrEqual(1);
    expect(verified.result.rejectedPairs).toBe(verified.result.candidatePairs);
    expect(verified.result.verifiedPairs).toBe(0);
    expect(await recordsOf(verified.outputPath, "s")).toEqual([]);
    expect(verified.result.clusters).toBe(0);
    const unverified = await runDedupStep(minhashDedupStep({ name: "dedup/crafted-none", sources: { s: normalizedSourceStep("crafted-2", docs, 2) }, verification: "none", threads: 0 }));
    expect((await recordsOf(unverified.outputPath, "s")).map((r) => r.id).sort()).toEqual(["pair-a", "pair-b"]);
  }, 60_000);

  it("finds copies with 3 % of words replaced across two sources: precision and recall above a floor", async () => {
    const labelled = buildCopySet(brownDocuments({ minWords: 200 }).slice(0, 160), { copies: 2, percent: 3, seed: 21 });
    const docsA = labelled.filter((_, i) => i % 2 === 0);
    const docsB = labelled.filter((_, i) => i % 2 === 1);
    const dedup = minhashDedupStep({ name: "dedup/copies", sources: { a: normalizedSourceStep("copies-a", docsA, 3), b: normalizedSourceStep("copies-b", docsB, 2) }, threads: 2, partitions: 3, memoryBudgetBytes: 8 << 20 });
    const { result, outputPath } = await runDedupStep(dedup);
    const records = [...(await recordsOf(outputPath, "a")), ...(await recordsOf(outputPath, "b"))];
    const score = scoreDedup(labelled, records);
    console.log(`step at the defaults on the p = 3 set: precision ${score.precision.toFixed(4)}, recall ${score.recall.toFixed(4)}`);
    expect(score.removable).toBe(320);
    expect(score.precision).toBeGreaterThanOrEqual(0.98);
    expect(score.recall).toBeGreaterThanOrEqual(0.95);
    expect(result.removals).toBe(score.removed);
    expect(result.verifiedPairs + result.rejectedPairs).toBe(result.candidatePairs);

    // The same clusters as the in-memory reference on node keys.
    const reference = findNearDuplicates([...docsA.map((d) => ({ id: nodeKey(0, d.id), text: d.text })), ...docsB.map((d) => ({ id: nodeKey(1, d.id), text: d.text }))]);
    expect(result.candidatePairs).toBe(reference.candidatePairs);
    expect(result.verifiedPairs).toBe(reference.edges.length);
    expect(result.removals).toBe(reference.removed.size);

    // One cluster row per cluster: its id is the canonical's, its size the members', the sizes sum to the members.
    const rows = [...(await readParquetFiles(path.join(outputPath, "clusters/*.parquet"))).values()].flat();
    expect(rows.length).toBe(result.clusters);
    const members = new Map<string, number>();
    for (const r of records) members.set(r.attributes.dup_cluster_id, (members.get(r.attributes.dup_cluster_id) ?? 0) + 1);
    for (const row of rows) {
      expect(members.get(row.cluster_id)).toBe(row.size);
      const canonical = records.find((r) => r.id === row.cluster_id && r.attributes.is_cluster_canonical);
      expect(canonical).toBeDefined();
      expect(["a", "b"]).toContain(row.canonical_source);
    }
    expect(rows.reduce((s, r) => s + r.size, 0)).toBe(result.clusterMembers);
    expect(Object.values(result.clusterSizes).reduce((s, n) => s + n, 0)).toBe(result.clusters);
  }, 120_000);
});
