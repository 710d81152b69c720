/**
 * The MinHash dedup step end to end on real parquet sources, through the real shuffle and worker
 * threads: accuracy on Brown documents with perturbed copies of known truth split across two
 * sources, co-partitioned sorted attribute files without singletons, clusters equal to the
 * in-memory reference (verified pairs) and, without verification, to union-find on the star edges
 * (chains, stars, clusters across sources and shards), exact copies with the same id in two
 * sources, a threshold of 1, and a source that breaks the part convention.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildGraph } from "../../../src/graph/dag.ts";
import { runGraph } from "../../../src/executor/scheduler.ts";
import {
  MARIN_PARAMS,
  DensifiedMinHasher,
  buildLabelledSet,
  findNearDuplicates,
  candidateEdges,
  componentsByUnionFind,
  minhashDedupStep,
  nodeKey,
  scoreDedup,
  type DupClusterRecord,
  type MinHashDedupResult,
} from "../../../src/steps/minhash/index.ts";
import { partitionOf } from "../../../src/shuffle/index.ts";
import type { AnyStep } from "../../../src/graph/step.ts";
import { tempDir } from "../../support/kiln-cli.ts";
import { brownDocuments, brownParagraphs } from "./corpora.ts";
import { normalizedSourceStep, partitionDocs, readParquetFiles, type FixtureDoc } from "./normalized-fixture.ts";

async function runStep(target: AnyStep): Promise<{ result: MinHashDedupResult; outputPath: string }> {
  const summary = await runGraph(buildGraph([target]), { prefix: tempDir() });
  expect(summary.ok, String((summary.failed[0]?.error as Error)?.stack ?? summary.failed[0]?.error)).toBe(true);
  const out = summary.outcomes.find((o) => o.node.name === target.name)!;
  return { result: out.result as MinHashDedupResult, outputPath: out.outputPath };
}

/** Reads every attribute file and checks the layout contract against the source's parts. */
async function checkAttributes(outputPath: string, sourceName: string, docs: readonly FixtureDoc[], numParts: number): Promise<DupClusterRecord[]> {
  const files = await readParquetFiles(path.join(outputPath, sourceName, "outputs/main/*.parquet"));
  const expected = partitionDocs(docs, numParts);
  const names = [...files.keys()].map((p) => path.basename(p));
  expect(names).toEqual(expected.map((_, i) => `part-${String(i).padStart(5, "0")}-of-${String(numParts).padStart(5, "0")}.parquet`));
  const all: DupClusterRecord[] = [];
  [...files.values()].forEach((rows, i) => {
    const partIds = new Set(expected[i].map((d) => d.id));
    const ids = rows.map((r) => r.id as string);
    expect(ids).toEqual([...ids].sort());
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of rows) {
      expect(partIds.has(r.id)).toBe(true);
      expect(Object.keys(r.attributes).sort()).toEqual(["dup_cluster_id", "is_cluster_canonical"]);
      all.push(r as DupClusterRecord);
    }
  });
  return all;
}

function clustersOf(records: readonly { key: string; cluster: string }[]): string[] {
  const groups = new Map<string, string[]>();
  for (const r of records) groups.set(r.cluster, [...(groups.get(r.cluster) ?? []), r.key]);
  return [...groups.values()].map((g) => g.sort().join(",")).sort();
}

describe("MinHash dedup step", () => {
  it("finds perturbed copies across two sources with precision and recall measured through the step", async () => {
    const labelled = buildLabelledSet(brownDocuments({ minWords: 200 }).slice(0, 500), { copyFraction: 0.35, overlapFraction: 0.1, seed: 11 });
    // Alternate documents between the sources, so most copies sit in the other source than their original.
    const docsA = labelled.filter((_, i) => i % 2 === 0);
    const docsB = labelled.filter((_, i) => i % 2 === 1);
    const srcA = normalizedSourceStep("brown-a", docsA, 3);
    const srcB = normalizedSourceStep("brown-b", docsB, 2);
    const dedup = minhashDedupStep({ name: "dedup/brown", sources: { a: srcA, b: srcB }, threads: 2, partitions: 3, memoryBudgetBytes: 8 << 20 });
    const { result, outputPath } = await runStep(dedup);
    const recordsA = await checkAttributes(outputPath, "a", docsA, 3);
    const recordsB = await checkAttributes(outputPath, "b", docsB, 2);
    const records = [...recordsA, ...recordsB];
    expect(result.documents).toBe(labelled.length);
    expect(result.sources.a.clusterMembers).toBe(recordsA.length);
    expect(result.sources.b.clusterMembers).toBe(recordsB.length);

    // Singletons omitted, exactly one canonical per cluster, the canonical's id is the cluster id.
    const byCluster = new Map<string, DupClusterRecord[]>();
    for (const r of records) byCluster.set(r.attributes.dup_cluster_id, [...(byCluster.get(r.attributes.dup_cluster_id) ?? []), r]);
    expect(byCluster.size).toBe(result.clusters);
    for (const [clusterId, members] of byCluster) {
      expect(members.length).toBeGreaterThanOrEqual(2);
      const canonical = members.filter((m) => m.attributes.is_cluster_canonical);
      expect(canonical.map((m) => m.id)).toEqual([clusterId]);
    }
    // Cross-source clusters: some clusters have members in both sources.
    const inA = new Set(recordsA.map((r) => r.attributes.dup_cluster_id));
    const crossSource = recordsB.filter((r) => inA.has(r.attributes.dup_cluster_id)).length;
    expect(crossSource).toBeGreaterThan(50);

    // Accuracy against the known truth (the thresholds sit a little below measured values).
    const score = scoreDedup(labelled, records);
    expect(score.removable).toBeGreaterThan(150);
    expect(score.precision).toBeGreaterThanOrEqual(0.98);
    expect(score.recall).toBeGreaterThanOrEqual(0.94);

    // Clusters equal the in-memory reference's on the same documents (node keys as ids).
    const reference = findNearDuplicates([...docsA.map((d) => ({ id: nodeKey(0, d.id), text: d.text })), ...docsB.map((d) => ({ id: nodeKey(1, d.id), text: d.text }))]);
    const stepClusters = clustersOf([
      ...recordsA.map((r) => ({ key: nodeKey(0, r.id), cluster: r.attributes.dup_cluster_id })),
      ...recordsB.map((r) => ({ key: nodeKey(1, r.id), cluster: r.attributes.dup_cluster_id })),
    ]);
    expect(stepClusters).toEqual(clustersOf(reference.records.map((r) => ({ key: r.id, cluster: r.attributes.dup_cluster_id }))));
    expect(result.verifiedPairs).toBe(reference.edges.length);
    expect(result.candidatePairs).toBe(reference.candidatePairs);
    expect(result.removals).toBe(reference.removed.size);
  }, 60_000);

  it("labels chains, stars and same-id copies across sources and shards exactly as union-find does", async () => {
    // Chains: sliding windows over running Brown text; each window overlaps the next by ~90 %.
    const words = brownParagraphs(16).join(" ").split(" ");
    expect(words.length).toBeGreaterThan(31000);
    const docs: FixtureDoc[] = [];
    let serial = 0;
    const id = () => `doc${String(serial++).padStart(6, "0")}${(serial * 2654435761 >>> 0).toString(16)}`;
    for (let chain = 0; chain < 6; chain++) {
      const base = chain * 2500;
      for (let k = 0; k < 20; k++) docs.push({ id: id(), text: words.slice(base + k * 8, base + k * 8 + 150).join(" ") });
    }
    // Stars: one text and many copies with a single word changed at different places.
    const starWords = words.slice(20000, 20200);
    for (let k = 0; k < 15; k++) docs.push({ id: id(), text: starWords.map((w, i) => (i === 10 + k * 12 ? "CHANGED" : w)).join(" ") });
    // Singletons.
    for (let k = 0; k < 40; k++) docs.push({ id: id(), text: words.slice(22000 + k * 120, 22000 + k * 120 + 100).join(" ") });
    const docsA = docs.filter((_, i) => i % 3 !== 0);
    const docsB = docs.filter((_, i) => i % 3 === 0);
    // The same document (same id) in both sources: exactly one copy stays canonical.
    const shared = { id: "shared-exact-copy", text: words.slice(30000, 30120).join(" ") };
    docsA.push(shared);
    docsB.push(shared);
    const dedup = minhashDedupStep({
      name: "dedup/chains",
      sources: { first: normalizedSourceStep("chains-a", docsA, 4), second: normalizedSourceStep("chains-b", docsB, 3) },
      params: MARIN_PARAMS,
      verification: "none",
      threads: 0,
      partitions: 5,
      memoryBudgetBytes: 2 << 20,
    });
    const { result, outputPath } = await runStep(dedup);
    const recordsA = await checkAttributes(outputPath, "first", docsA, 4);
    const recordsB = await checkAttributes(outputPath, "second", docsB, 3);
    const keyed = [
      ...recordsA.map((r) => ({ key: nodeKey(0, r.id), r })),
      ...recordsB.map((r) => ({ key: nodeKey(1, r.id), r })),
    ];
    const hasher = new DensifiedMinHasher();
    const signed = [...docsA.map((d) => ({ id: nodeKey(0, d.id), signature: hasher.signature(d.text) })), ...docsB.map((d) => ({ id: nodeKey(1, d.id), signature: hasher.signature(d.text) }))];
    const reference = componentsByUnionFind(candidateEdges(signed, hasher.params.bands, hasher.params.rows));
    expect(clustersOf(keyed.map(({ key, r }) => ({ key, cluster: r.attributes.dup_cluster_id })))).toEqual(
      clustersOf([...reference].map(([key, cluster]) => ({ key, cluster }))),
    );
    // Canonical = minimum node key (earliest source, then smallest id); its id names the cluster.
    for (const { key, r } of keyed) {
      const label = reference.get(key)!;
      expect(r.attributes.is_cluster_canonical).toBe(label === key);
      expect(r.attributes.dup_cluster_id).toBe(label.slice(label.indexOf(":") + 1));
    }
    const sharedRecords = keyed.filter(({ r }) => r.id === shared.id).map(({ key, r }) => [key, r.attributes.is_cluster_canonical]);
    expect(sharedRecords).toEqual([[nodeKey(0, shared.id), true], [nodeKey(1, shared.id), false]]);
    // Chains need several propagation rounds, and clusters span node partitions and sources.
    expect(result.rounds).toBeGreaterThanOrEqual(3);
    const largest = Math.max(...clustersOf(keyed.map(({ key, r }) => ({ key, cluster: r.attributes.dup_cluster_id }))).map((c) => c.split(",").length));
    expect(largest).toBeGreaterThanOrEqual(15);
    const spanning = new Set(keyed.map(({ key }) => partitionOf(key, 5)));
    expect(spanning.size).toBe(5);
    expect(recordsA.length + recordsB.length).toBeLessThan(docsA.length + docsB.length - 30);

    // With a threshold of 1 only the exact copies remain clustered.
    const exact = minhashDedupStep({
      name: "dedup/chains-exact",
      sources: { first: normalizedSourceStep("chains-a2", docsA, 4), second: normalizedSourceStep("chains-b2", docsB, 3) },
      threads: 0,
      partitions: 2,
      params: MARIN_PARAMS,
      threshold: 1,
    });
    const verified = await runStep(exact);
    expect(verified.result.rejectedPairs).toBeGreaterThan(50);
    const all = [...(await checkAttributes(verified.outputPath, "first", docsA, 4)), ...(await checkAttributes(verified.outputPath, "second", docsB, 3))];
    expect(all.map((r) => r.id).sort()).toEqual([shared.id, shared.id]);
  }, 60_000);

  it("fails naming the file when a source part holds a document of another part", async () => {
    const docs = Array.from({ length: 40 }, (_, i) => ({ id: `id-${String(i).padStart(3, "0")}`, text: `document number ${i} with a few words in it` }));
    const broken = normalizedSourceStep("broken", docs, 1);
    // Rename the single part to claim it is part 0 of 2: half its ids belong to part 1.
    const { step } = await import("../../../src/graph/step.ts");
    const { openWriter } = await import("../../../src/io/formats.ts");
    const misplaced = step({
      name: "fixtures/misplaced",
      inputs: { src: broken },
      run: async (ctx) => {
        for (const i of [0, 1]) {
          const w = openWriter(ctx.path(`outputs/main/part-0000${i}-of-00002.parquet`), "parquet");
          await w.write(i === 0 ? docs : []);
          await w.close();
        }
      },
    });
    const summary = await runGraph(buildGraph([minhashDedupStep({ name: "dedup/broken", sources: { s: misplaced }, threads: 0 })]), { prefix: tempDir() });
    expect(summary.ok).toBe(false);
    const err = summary.failed[0]?.error as Error & { code?: string };
    expect(err.code).toBe("KILN_SOURCE_LAYOUT");
    expect(err.message).toMatch(/part-00000-of-00002\.parquet, row \d+: id id-\d+ belongs in part 1/);
  });
});
