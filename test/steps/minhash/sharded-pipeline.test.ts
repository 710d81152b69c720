/**
 * The whole dedup computation in the shape the shuffle will run it — documents in shards, band keys
 * scattered to partitions by key hash, star edges per key group, sharded label propagation, cluster
 * records — must give exactly the records of the in-memory reference pipeline.
 */
import { describe, expect, it } from "vitest";
import {
  DensifiedMinHasher,
  bandKeys,
  buildLabelledSet,
  clusterAttributes,
  findNearDuplicates,
  runShardedLabelPropagation,
  starEdges,
  type Edge,
} from "../../../src/steps/minhash/index.ts";
import { shardOfKey } from "../../../src/steps/minhash/components.ts";
import { brownDocuments } from "./corpora.ts";

describe("shuffle-shaped dedup", () => {
  it("equals the in-memory pipeline on Brown documents with perturbed copies", () => {
    const labelled = buildLabelledSet(brownDocuments({ minWords: 200 }).slice(0, 400), { seed: 11, copyFraction: 0.5 });
    const documentShards = 5;
    const keyPartitions = 4;
    // Map: each document shard emits (band key, id).
    const hasher = new DensifiedMinHasher({ numPerm: 112, bands: 14, rows: 8 });
    const partitions = Array.from({ length: keyPartitions }, () => new Map<string, string[]>());
    const shards = Array.from({ length: documentShards }, (_, s) => labelled.filter((_, i) => i % documentShards === s));
    for (const shard of shards) {
      for (const doc of shard) {
        for (const key of bandKeys(hasher.signature(doc.text), 14, 8)) {
          const group = partitions[shardOfKey(key, keyPartitions)];
          const ids = group.get(key);
          if (ids) ids.push(doc.id);
          else group.set(key, [doc.id]);
        }
      }
    }
    // Reduce: star edges per band-key group; each partition's edges form one edge shard.
    const edgeShards: Edge[][] = partitions.map((group) => [...group.values()].flatMap((ids) => starEdges(ids)));
    const propagation = runShardedLabelPropagation(edgeShards, 3);
    const sharded = clusterAttributes(propagation.labels);
    const reference = findNearDuplicates(labelled, { params: { numPerm: 112, bands: 14, rows: 8 }, verification: "none" });
    expect(sharded.length).toBeGreaterThan(100);
    expect(sharded).toEqual(reference.records);
  });
});
