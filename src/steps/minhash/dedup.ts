/**
 * The whole fuzzy-dedup computation in one process, composed from the pure parts, computing what
 * the dedup step computes through the shuffle: signatures → band keys → per bucket, candidate pairs
 * (each member with the bucket's first members, ids sorted) → exact-Jaccard verification of each
 * pair against the threshold → connected components of the verified edges → cluster attribute
 * records (canonical = smallest id). With verification "none", star edges to each bucket's minimum
 * are joined unchecked instead. This function is the reference for tests, accuracy measurements and
 * inputs that fit in memory.
 */
import { componentsByUnionFind, clusterAttributes, type DupClusterRecord } from "./components.ts";
import { MinHashInputError } from "./errors.ts";
import { candidateEdges, candidatePairs, jaccardOfSortedSets, type Edge } from "./lsh.ts";
import { resolveSettings, type NearDuplicateSettings, type ResolvedSettings } from "./settings.ts";
import { createSignatureHasher } from "./one-permutation.ts";

export type NearDuplicateOptions = NearDuplicateSettings;

export interface NearDuplicateResult {
  /** The settings used (banding chosen from the threshold unless given). */
  readonly settings: ResolvedSettings;
  /** One record per document in a cluster of two or more, sorted by id. */
  readonly records: DupClusterRecord[];
  /** Ids that dedup removes: cluster members that are not canonical. */
  readonly removed: Set<string>;
  /** Edges the components were built from (verified pairs, or star edges without verification). */
  readonly edges: Edge[];
  /** Candidate pairs (or star edges) before verification. */
  readonly candidatePairs: number;
}

export function findNearDuplicates(
  documents: Iterable<{ readonly id: string; readonly text: string }>,
  options: NearDuplicateOptions = {},
): NearDuplicateResult {
  const settings = resolveSettings(options, "findNearDuplicates");
  const hasher = createSignatureHasher(settings.scheme, settings.params, settings.normalization);
  const { bands, rows } = settings.params;
  const verify = settings.verification === "exact";
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
    const shingles = hasher.shingleHashes(doc.text);
    if (verify) shingleSets.set(doc.id, shingles);
    signed.push({ id: doc.id, signature: hasher.signatureOfShingles(shingles) });
  }
  const candidates = verify ? candidatePairs(signed, bands, rows, settings.comparisonsPerMember) : candidateEdges(signed, bands, rows);
  const edges = verify ? candidates.filter(([a, b]) => jaccardOfSortedSets(shingleSets.get(a)!, shingleSets.get(b)!) >= settings.threshold) : candidates;
  const records = clusterAttributes(componentsByUnionFind(edges));
  const removed = new Set(records.filter((r) => !r.attributes.is_cluster_canonical).map((r) => r.id));
  return { settings, records, removed, edges, candidatePairs: candidates.length };
}
