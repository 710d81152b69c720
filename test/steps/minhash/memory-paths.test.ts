/**
 * The dedup step's in-memory paths through the real engine (parquet sources, worker threads): on
 * Brown copies spread over two sources plus a crafted pair under the threshold, the step run four
 * ways — signed documents, buckets, verification and components in the step's thread (the default),
 * the same with the signed documents through scratch files (a 4 MiB budget), band entries
 * shuffled and pairs verified by the joins with the parts but components in memory (a 1 MiB
 * budget), and everything through the shuffle (inMemoryPairs 0: joins and label propagation) —
 * writes the same attribute and cluster rows with the same counters. And the pure parts: buckets
 * give the reference's candidate pairs, repeated pairs count once, a pair naming a document no part
 * holds is refused, labels and cluster rows are as union-find gives.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { SourceLayoutError, buildCopySet, candidatePairs, createSignatureHasher, minhashDedupStep, nodeKey, resolveSettings, type MinHashDedupResult, type MinHashDedupOptions } from "../../../src/steps/minhash/index.ts";
import { bandKeyNumbers, bandKeys } from "../../../src/steps/minhash/lsh.ts";
import { bucketCandidatePairs } from "../../../src/steps/minhash/memory-candidates.ts";
import { memoryComponents } from "../../../src/steps/minhash/memory-components.ts";
import { distinctPairs, verifyWithShingles } from "../../../src/steps/minhash/memory-verification.ts";
import { brownDocuments } from "./corpora.ts";
import { craftedPair } from "./crafted-pair.ts";
import { runDedupStep } from "./run-step.ts";
import { normalizedSourceStep, readParquetFiles, type FixtureDoc } from "./normalized-fixture.ts";

async function rowsOf(outputPath: string, folder: string): Promise<unknown[]> {
  const rows = [...(await readParquetFiles(path.join(outputPath, folder, "*.parquet"))).values()].flat();
  return rows.map((r) => JSON.stringify(r)).sort();
}

describe("MinHash dedup step: in-memory verification and components", () => {
  it("writes the same attributes, clusters and counters as the shuffle path", async () => {
    const pair = craftedPair(resolveSettings({}, "test"));
    const copies = buildCopySet(brownDocuments({ minWords: 200 }).slice(0, 90), { copies: 2, percent: 3, seed: 5 });
    const docs: FixtureDoc[] = [...copies, { id: "pair-a", text: pair.a }, { id: "pair-b", text: pair.b }];
    const sourcesOf = (run: string) => ({
      a: normalizedSourceStep(`mem-a-${run}`, docs.filter((_, i) => i % 2 === 0), 3),
      b: normalizedSourceStep(`mem-b-${run}`, docs.filter((_, i) => i % 2 === 1), 2),
    });
    const base: Omit<MinHashDedupOptions, "name" | "sources"> = { threads: 2, partitions: 3 };
    const runs = {
      memory: await runDedupStep(minhashDedupStep({ ...base, name: "dedup/memory", sources: sourcesOf("m"), memoryBudgetBytes: 64 << 20 })),
      scratch: await runDedupStep(minhashDedupStep({ ...base, name: "dedup/scratch", sources: sourcesOf("r"), memoryBudgetBytes: 4 << 20 })),
      joins: await runDedupStep(minhashDedupStep({ ...base, name: "dedup/joins", sources: sourcesOf("j"), memoryBudgetBytes: 1 << 20 })),
      shuffle: await runDedupStep(minhashDedupStep({ ...base, name: "dedup/shuffle", sources: sourcesOf("s"), memoryBudgetBytes: 64 << 20, inMemoryPairs: 0 })),
    };
    const paths = (r: MinHashDedupResult) => [r.signaturesInMemory, r.candidatesInMemory, r.verificationInMemory, r.componentsInMemory];
    expect(paths(runs.memory.result)).toEqual([true, true, true, true]);
    expect(paths(runs.scratch.result)).toEqual([false, true, true, true]);
    expect(paths(runs.joins.result)).toEqual([false, false, false, true]);
    expect(paths(runs.shuffle.result)).toEqual([false, false, false, false]);
    expect(runs.shuffle.result.rounds).toBeGreaterThan(0);
    expect(runs.memory.result.rejectedPairs).toBeGreaterThanOrEqual(1);
    expect(runs.memory.result.removals).toBeGreaterThan(150);
    const counted = (r: MinHashDedupResult) => [r.candidatePairs, r.verifiedPairs, r.rejectedPairs, r.clusters, r.clusterMembers, r.removals, r.clusterSizes];
    for (const other of [runs.scratch, runs.joins, runs.shuffle]) {
      expect(counted(other.result)).toEqual(counted(runs.memory.result));
      for (const folder of ["a/outputs/main", "b/outputs/main", "clusters"]) {
        expect(await rowsOf(other.outputPath, folder)).toEqual(await rowsOf(runs.memory.outputPath, folder));
      }
    }
  }, 180_000);
});

describe("in-memory candidates, verification and components, pure parts", () => {
  it("numbers band keys by the first 13 hex digits of the string keys, none for an empty document", () => {
    const hasher = createSignatureHasher("densified", { numPerm: 282, bands: 47, rows: 6 });
    for (const text of brownDocuments({ minWords: 200 }).slice(0, 20)) {
      const signature = hasher.signature(text);
      expect(bandKeyNumbers(signature, 47, 6)).toEqual(bandKeys(signature, 47, 6).map((key) => parseInt(key.slice(0, 13), 16)));
    }
    expect(bandKeyNumbers(hasher.signature(" . "), 47, 6)).toEqual([]);
  });

  it("buckets signed documents into the reference's candidate pairs", () => {
    const settings = resolveSettings({}, "test");
    const { bands, rows } = settings.params;
    const hasher = createSignatureHasher(settings.scheme, settings.params);
    const copies = buildCopySet(brownDocuments({ minWords: 200 }).slice(0, 60), { copies: 2, percent: 3, seed: 9 });
    const signed = copies.map((d) => ({ id: nodeKey(0, d.id), signature: hasher.signature(d.text) }));
    const reference = candidatePairs(signed, bands, rows, 2).map(([a, b]) => `${a} ${b}`).sort();
    const docs = signed.map((d) => ({ n: d.id, k: bandKeyNumbers(d.signature, bands, rows) }));
    const found = bucketCandidatePairs(docs, 2).map((pair) => `${pair.a} ${pair.b}`).sort();
    expect(reference.length).toBeGreaterThan(100);
    expect(found).toEqual(reference);
  });

  it("counts a pair found in several buckets once and refuses a pair naming a missing document", () => {
    const pairs = distinctPairs([{ a: "0:x", b: "0:y" }, { a: "0:x", b: "0:y" }, { a: "0:x", b: "1:z" }]);
    expect(pairs).toEqual([{ a: "0:x", b: "0:y" }, { a: "0:x", b: "1:z" }]);
    const set = (values: number[]) => Buffer.from(Uint32Array.from(values).buffer).toString("base64");
    const shingles = [{ n: "0:x", s: set([1, 2, 3, 4]) }, { n: "0:y", s: set([1, 2, 3, 5]) }, { n: "1:z", s: set([7, 8]) }];
    const { edges, counters } = verifyWithShingles(pairs, shingles, 0.6);
    expect(edges).toEqual([{ a: "0:x", b: "0:y" }]);
    expect(counters).toEqual({ candidatePairs: 2, verifiedPairs: 1, rejectedPairs: 1 });
    expect(() => verifyWithShingles([{ a: "0:x", b: "0:w" }], shingles, 0.6)).toThrow(SourceLayoutError);
    expect(() => verifyWithShingles([{ a: "0:x", b: "0:w" }], shingles, 0.6)).toThrow(/0:w/);
  });

  it("labels every node with its component's smallest node key and counts the clusters", () => {
    const k = (s: number, id: string) => nodeKey(s, id);
    const edges = [
      { a: k(1, "b"), b: k(0, "c") },
      { a: k(0, "c"), b: k(1, "a") },
      { a: k(1, "x"), b: k(1, "y") },
    ];
    const { labels, clusters, sizes, counters } = memoryComponents(edges, ["first", "second"]);
    expect(labels.map((l) => [l.s, l.id, l.c, l.cs, l.k])).toEqual([
      [0, "c", "c", 0, true],
      [1, "a", "c", 0, false],
      [1, "b", "c", 0, false],
      [1, "x", "x", 1, true],
      [1, "y", "x", 1, false],
    ]);
    expect(clusters).toEqual([
      { cluster_id: "c", canonical_source: "first", size: 3 },
      { cluster_id: "x", canonical_source: "second", size: 2 },
    ]);
    expect(sizes).toEqual({ "2": 1, "3": 1 });
    expect(counters).toEqual({ "members:0": 1, "members:1": 4, "nonCanonical:1": 3 });
  });
});
