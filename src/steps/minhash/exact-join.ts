/**
 * The exact answer that near-duplicate detection approximates: every pair of shingle sets whose
 * Jaccard similarity is at least a threshold (an exact similarity self-join), and the connected
 * components of those pairs. Used to measure the dedup step (how many removals an exact "keep one
 * per component" would make, and which of the step's removals fall outside every exact component).
 *
 * Method: prefix filtering. Shingles are renamed by rank in one global order, rarest first (ties by
 * hash value), and each set sorted in that order. A pair with J(x, y) ≥ t shares at least
 * ⌈t·max(|x|, |y|)⌉ shingles, so the first |x| − ⌈t·|x|⌉ + 1 shingles of x and the first
 * |y| − ⌈t·|y|⌉ + 1 of y have one in common. Sets are visited by increasing size; each probes an
 * inverted index of the prefixes seen so far (skipping sets smaller than t·|x|), and every candidate
 * is verified exactly. In memory: meant for benchmark corpora (millions of shingles), not for data
 * the dedup step exists for.
 */
import { componentsByUnionFind } from "./components.ts";
import { jaccardOfSortedSets, type Edge } from "./lsh.ts";

/** A pair of set indices (i < j) and its Jaccard similarity. */
export interface SimilarPair {
  i: number;
  j: number;
  similarity: number;
}

/** Distinct values of all sets, sorted, with how many sets hold each. */
function frequencies(sets: readonly Uint32Array[]): { values: Uint32Array; counts: Uint32Array } {
  const total = sets.reduce((s, x) => s + x.length, 0);
  const all = new Uint32Array(total);
  let at = 0;
  for (const x of sets) {
    all.set(x, at);
    at += x.length;
  }
  all.sort();
  const values: number[] = [];
  const counts: number[] = [];
  for (let k = 0; k < all.length; k++) {
    if (k > 0 && all[k] === all[k - 1]) counts[counts.length - 1]++;
    else {
      values.push(all[k]);
      counts.push(1);
    }
  }
  return { values: Uint32Array.from(values), counts: Uint32Array.from(counts) };
}

/** Each set rewritten as ranks in the rarest-first order, sorted ascending. */
function rankedSets(sets: readonly Uint32Array[]): Uint32Array[] {
  const { values, counts } = frequencies(sets);
  const find = (v: number): number => {
    let lo = 0;
    let hi = values.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  // Order by (count, value) with one native sort: count · 2^32 + value is exact in a double.
  const keys = Float64Array.from(values, (v, k) => counts[k] * 4294967296 + v).sort();
  const rankOf = new Uint32Array(values.length);
  keys.forEach((key, rank) => (rankOf[find(key % 4294967296)] = rank));
  return sets.map((x) => Uint32Array.from(x, (v) => rankOf[find(v)]).sort());
}

const prefixLength = (size: number, threshold: number) => size - Math.ceil(threshold * size - 1e-9) + 1;

/** Every pair of sets (distinct shingle hashes, sorted) with Jaccard ≥ threshold; empty sets never pair. */
export function exactSimilarPairs(sets: readonly Uint32Array[], threshold: number): SimilarPair[] {
  const ranked = rankedSets(sets);
  const visit = Array.from(ranked.keys()).filter((k) => ranked[k].length > 0).sort((a, b) => ranked[a].length - ranked[b].length || a - b);
  const index = new Map<number, number[]>();
  const seenBy = new Int32Array(sets.length).fill(-1);
  const pairs: SimilarPair[] = [];
  for (const x of visit) {
    const set = ranked[x];
    const prefix = prefixLength(set.length, threshold);
    const minSize = threshold * set.length;
    for (let k = 0; k < prefix; k++) {
      const list = index.get(set[k]);
      if (!list) continue;
      for (const y of list) {
        if (seenBy[y] === x || ranked[y].length < minSize) continue;
        seenBy[y] = x;
        const similarity = jaccardOfSortedSets(set, ranked[y]);
        if (similarity >= threshold) pairs.push({ i: Math.min(x, y), j: Math.max(x, y), similarity });
      }
    }
    for (let k = 0; k < prefix; k++) {
      const list = index.get(set[k]);
      if (list) list.push(x);
      else index.set(set[k], [x]);
    }
  }
  return pairs;
}

/** Node id → smallest id of its component, over the exact pairs, for every id in at least one pair. */
export function exactComponents(ids: readonly string[], sets: readonly Uint32Array[], threshold: number): Map<string, string> {
  const edges: Edge[] = exactSimilarPairs(sets, threshold).map((p) => [ids[p.i], ids[p.j]]);
  return componentsByUnionFind(edges);
}

/** Removals of "keep one per exact component": the sum over components of (size − 1). */
export function exactRemovals(labels: ReadonlyMap<string, string>): number {
  const components = new Set(labels.values());
  return labels.size - components.size;
}

/**
 * Removed documents whose cluster's canonical is not in the same exact component (a removal that
 * exact similarity does not support: an LSH false merge or a chain). `removed` maps a removed id to
 * its cluster's canonical id; ids absent from `exact` are singletons.
 */
export function removalsOutsideExactComponents(removed: ReadonlyMap<string, string>, exact: ReadonlyMap<string, string>): number {
  let outside = 0;
  for (const [id, canonical] of removed) {
    const a = exact.get(id) ?? id;
    const b = exact.get(canonical) ?? canonical;
    if (a !== b) outside++;
  }
  return outside;
}
