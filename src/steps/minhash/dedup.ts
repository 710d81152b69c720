/**
 * The whole fuzzy-dedup computation in one process, composed from the pure parts: signatures →
 * band keys → star edges per bucket → optional exact-Jaccard verification of each edge →
 * connected components → cluster attribute records. The distributed step will run the same parts
 * through the shuffle; this function is the reference for tests, accuracy measurements and inputs
 * that fit in memory.
 */
import { componentsByUnionFind, clusterAttributes, type DupClusterRecord } from "./components.ts";
import { MinHashInputError } from "./errors.ts";
import { candidateEdges, jaccardOfSortedSets, type Edge } from "./lsh.ts";
import { MinHasher, type MinHashParams } from "./signature.ts";

export interface NearDuplicateOptions {
  readonly params?: Partial<MinHashParams>;
  /**
   * When set, a candidate edge is kept only if the exact Jaccard similarity of the two
   * documents' shingle sets is at least this value (costs keeping every shingle set in memory).
   */
  readonly verifyThreshold?: number;
}

export interface NearDuplicateResult {
  /** One record per document in a cluster of two or more, sorted by id. */
  readonly records: DupClusterRecord[];
  /** Ids that dedup removes: cluster members that are not canonical. */
  readonly removed: Set<string>;
  /** Candidate edges after verification. */
  readonly edges: Edge[];
  /** Candidate edges before verification. */
  readonly candidateEdgeCount: number;
}

export function findNearDuplicates(
  documents: Iterable<{ readonly id: string; readonly text: string }>,
  options: NearDuplicateOptions = {},
): NearDuplicateResult {
  const hasher = new MinHasher(options.params ?? {});
  const { bands, rows } = hasher.params;
  const verify = options.verifyThreshold;
  const shingleSets = new Map<string, Uint32Array>();
  const signed: { id: string; signature: Uint32Array }[] = [];
  let position = 0;
  for (const doc of documents) {
    if (typeof doc?.text !== "string" || typeof doc.id !== "string") {
      throw new MinHashInputError(
        `document #${position} (id ${JSON.stringify(doc?.id)}) has no string "id" and "text"`,
        "every record needs a string id and a string text field",
      );
    }
    position++;
    if (verify === undefined) {
      signed.push({ id: doc.id, signature: hasher.signature(doc.text) });
    } else {
      const shingles = hasher.shingleHashes(doc.text);
      shingleSets.set(doc.id, shingles);
      signed.push({ id: doc.id, signature: hasher.signatureOfShingles(shingles) });
    }
  }
  const candidates = candidateEdges(signed, bands, rows);
  const edges =
    verify === undefined
      ? candidates
      : candidates.filter(([a, b]) => jaccardOfSortedSets(shingleSets.get(a)!, shingleSets.get(b)!) >= verify);
  const records = clusterAttributes(componentsByUnionFind(edges));
  const removed = new Set(records.filter((r) => !r.attributes.is_cluster_canonical).map((r) => r.id));
  return { records, removed, edges, candidateEdgeCount: candidates.length };
}
