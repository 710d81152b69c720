/**
 * Connected components of the verified edges in the step's own thread, for when the candidate
 * pairs fit in the memory budget: union-find over the edges (components.ts) instead of rounds of
 * label propagation through the shuffle, and the cluster rows counted here instead of by a
 * shuffle. The labels are the ones label propagation gives (each node's label is the smallest node
 * key of its component), so both paths write the same attribute and cluster files.
 *
 * The bound: a candidate pair held in memory (its two node keys in the union-find's map and
 * arrays) costs about `BYTES_PER_PAIR` bytes; the edges are collected only when every candidate pair
 * would fit in the task memory budget at that cost (or under the step's `inMemoryPairs`).
 */
import { componentsByUnionFind } from "./components.ts";
import { sizeClass, type CandidatePair, type ClusterLabel } from "./dedup-functions.ts";
import { parseNodeKey } from "./source-parts.ts";

/** Estimated bytes per candidate pair held as an edge in the union-find. */
export const BYTES_PER_PAIR = 400;

/** Candidate pairs up to which the edges are collected: `override` when given, else what fits in `memoryBudgetBytes`. */
export function inMemoryPairLimit(memoryBudgetBytes: number, override?: number): number {
  return override ?? Math.floor(memoryBudgetBytes / BYTES_PER_PAIR);
}

export interface ClusterRow {
  cluster_id: string;
  canonical_source: string;
  size: number;
}

export interface MemoryComponents {
  /** One label per clustered document, sorted by node key. */
  labels: ClusterLabel[];
  /** One row per cluster, sorted by the canonical's node key. */
  clusters: ClusterRow[];
  /** Clusters by size class, as the `clusterSize:<class>` counters of the shuffle path. */
  sizes: Record<string, number>;
  /** `members:<source>` and `nonCanonical:<source>` counters, as the shuffle path counts them. */
  counters: Record<string, number>;
}

/** Components of `edges` (node keys) with their labels, cluster rows and counters. */
export function memoryComponents(edges: readonly CandidatePair[], sourceNames: readonly string[]): MemoryComponents {
  const labelOf = componentsByUnionFind(edges.map((e) => [e.a, e.b] as const));
  const nodes = [...labelOf.keys()].sort();
  const counters: Record<string, number> = {};
  const count = (key: string) => (counters[key] = (counters[key] ?? 0) + 1);
  const sizeOf = new Map<string, number>();
  const labels = nodes.map((node): ClusterLabel => {
    const label = labelOf.get(node) ?? node;
    const { sourceIndex, id } = parseNodeKey(node);
    const cluster = parseNodeKey(label);
    const canonical = node === label;
    count(`members:${sourceIndex}`);
    if (!canonical) count(`nonCanonical:${sourceIndex}`);
    sizeOf.set(label, (sizeOf.get(label) ?? 0) + 1);
    return { s: sourceIndex, id, c: cluster.id, cs: cluster.sourceIndex, k: canonical };
  });
  const sizes: Record<string, number> = {};
  const clusters = [...sizeOf.keys()].sort().map((label): ClusterRow => {
    const size = sizeOf.get(label) ?? 0;
    const { sourceIndex, id } = parseNodeKey(label);
    sizes[sizeClass(size)] = (sizes[sizeClass(size)] ?? 0) + 1;
    return { cluster_id: id, canonical_source: sourceNames[sourceIndex] ?? String(sourceIndex), size };
  });
  return { labels, clusters, sizes, counters };
}
