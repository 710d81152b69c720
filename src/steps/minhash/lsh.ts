/**
 * Locality-sensitive hashing over MinHash signatures: band keys (the unit the shuffle groups
 * documents by), star edges from a bucket of documents sharing a band key, and exact Jaccard on
 * shingle sets for optional verification of a candidate pair.
 *
 * A band key is a 64-bit hash of one band's `rows` signature values, with the band index mixed in
 * (two independently seeded 32-bit murmur3 folds), written as 16 lowercase hex characters. Two
 * documents are candidates when any of their band keys are equal. Unverified, a bucket of k
 * documents becomes k − 1 edges, each member → the bucket's minimum id (a star), never all
 * k(k − 1)/2 pairs. For verification a bucket becomes candidate PAIRS instead: its members sorted
 * by id, member i is paired with members 0 … min(i, c) − 1, c = `comparisonsPerMember` (all pairs of a
 * bucket of at most c + 1 documents; at most c pairs per member in a larger one). Each pair is
 * then joined only if its similarity reaches the threshold, so a bucket's minimum never pulls in a
 * member it does not resemble (no chaining through a shared band).
 */
import { MinHashConfigError, MinHashInputError } from "./errors.ts";
import { EMPTY_SLOT } from "./signature.ts";
import { foldHash32, mix32 } from "./shingles.ts";

/** An undirected edge between two document ids. */
export type Edge = readonly [string, string];

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex32(value: number): string {
  return HEX[value >>> 24] + HEX[(value >>> 16) & 255] + HEX[(value >>> 8) & 255] + HEX[value & 255];
}

function checkBanding(signature: Uint32Array, bands: number, rows: number): void {
  if (!Number.isInteger(bands) || !Number.isInteger(rows) || bands < 1 || rows < 1) {
    throw new MinHashConfigError(
      `bands (${bands}) and rows (${rows}) must be positive integers`,
      "use the bands and rows of the MinHashParams the signatures were made with",
    );
  }
  if (bands * rows !== signature.length) {
    throw new MinHashConfigError(
      `bands × rows = ${bands} × ${rows} = ${bands * rows} does not match the signature length ${signature.length}`,
      "use the bands and rows of the MinHashParams the signatures were made with",
    );
  }
}

/** True when the signature is the one of an empty document (no shingles). */
export function isEmptySignature(signature: Uint32Array): boolean {
  return signature.length > 0 && signature[0] === EMPTY_SLOT;
}

/** The two 32-bit halves of band `band`'s 64-bit key, written into `out`. */
function bandHash(signature: Uint32Array, band: number, rows: number, out: Uint32Array): void {
  let high = foldHash32(0x2545f491, band);
  let low = foldHash32(0x9e3779b9, band);
  const start = band * rows;
  for (let row = 0; row < rows; row++) {
    const value = signature[start + row];
    high = foldHash32(high, value);
    low = foldHash32(low, value ^ 0x5bd1e995);
  }
  out[0] = mix32(high ^ rows);
  out[1] = mix32(low ^ (rows << 8));
}

/** `key(high, low)` of each band's 64-bit hash; none for an empty document's signature. */
function eachBand<T>(signature: Uint32Array, bands: number, rows: number, key: (high: number, low: number) => T): T[] {
  checkBanding(signature, bands, rows);
  if (isEmptySignature(signature)) return [];
  const halves = new Uint32Array(2);
  const keys = new Array<T>(bands);
  for (let band = 0; band < bands; band++) {
    bandHash(signature, band, rows, halves);
    keys[band] = key(halves[0], halves[1]);
  }
  return keys;
}

/**
 * One hashed key per band (16 hex chars each), band index mixed in. An empty document's
 * signature has no keys, so it is never a candidate.
 */
export function bandKeys(signature: Uint32Array, bands: number, rows: number): string[] {
  return eachBand(signature, bands, rows, (high, low) => hex32(high) + hex32(low));
}

/**
 * The band keys as 52-bit integers (the first 13 hex digits of `bandKeys`' keys, exact in a
 * double): what the dedup step shuffles and buckets, since a number encodes and compares faster
 * than a 16-char string. A repeat across different bands is as unlikely as in `bandKeys`;
 * candidates are verified.
 */
export function bandKeyNumbers(signature: Uint32Array, bands: number, rows: number): number[] {
  return eachBand(signature, bands, rows, (high, low) => high * 1048576 + (low >>> 12));
}

/** Edges of one bucket: every id except the smallest → the smallest. Duplicate ids are ignored. */
export function starEdges(bucketIds: readonly string[]): Edge[] {
  if (bucketIds.length < 2) return [];
  let min = bucketIds[0];
  for (const id of bucketIds) if (id < min) min = id;
  const seen = new Set<string>([min]);
  const edges: Edge[] = [];
  for (const id of bucketIds) {
    if (seen.has(id)) continue;
    seen.add(id);
    edges.push([id, min]);
  }
  return edges;
}

/** Pairs of one bucket (ids sorted, no repeats): member i with the first min(i, c) members, as [earlier, later]. */
export function bucketPairs(sortedIds: readonly string[], comparisonsPerMember: number): Edge[] {
  const pairs: Edge[] = [];
  for (let i = 1; i < sortedIds.length; i++) {
    for (let j = 0; j < Math.min(i, comparisonsPerMember); j++) pairs.push([sortedIds[j], sortedIds[i]]);
  }
  return pairs;
}

/** Documents grouped by band key in memory (ids checked: strings, no repeats). */
function bucketsOf(documents: Iterable<{ readonly id: string; readonly signature: Uint32Array }>, bands: number, rows: number): Map<string, string[]> {
  const buckets = new Map<string, string[]>();
  const seenIds = new Set<string>();
  for (const doc of documents) {
    if (typeof doc.id !== "string") {
      throw new MinHashInputError(
        `a document has id ${JSON.stringify(doc.id)}; ids must be strings`,
        "give every record a string id (kiln records carry a content-hash id)",
      );
    }
    if (seenIds.has(doc.id)) {
      throw new MinHashInputError(
        `document id "${doc.id}" appears twice`,
        "deduplicate ids first (exact dedup) or give every record a unique id",
      );
    }
    seenIds.add(doc.id);
    for (const key of bandKeys(doc.signature, bands, rows)) {
      const bucket = buckets.get(key);
      if (bucket) bucket.push(doc.id);
      else buckets.set(key, [doc.id]);
    }
  }
  return buckets;
}

/**
 * Groups documents by band key in memory and returns the union of the buckets' star edges,
 * each edge once. This is what the shuffle (groupBy band key, then star edges per group) computes
 * distributed; it exists for tests and inputs that fit in memory.
 */
export function candidateEdges(
  documents: Iterable<{ readonly id: string; readonly signature: Uint32Array }>,
  bands: number,
  rows: number,
): Edge[] {
  const unique = new Map<string, Edge>();
  for (const bucket of bucketsOf(documents, bands, rows).values()) {
    for (const edge of starEdges(bucket)) unique.set(`${edge[0]}\u0000${edge[1]}`, edge);
  }
  return [...unique.values()];
}

/** The union of every bucket's candidate pairs (see the file header), each pair once, as [smaller id, larger id]. */
export function candidatePairs(
  documents: Iterable<{ readonly id: string; readonly signature: Uint32Array }>,
  bands: number,
  rows: number,
  comparisonsPerMember: number,
): Edge[] {
  const unique = new Map<string, Edge>();
  for (const bucket of bucketsOf(documents, bands, rows).values()) {
    if (bucket.length < 2) continue;
    const sorted = [...bucket].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    for (const pair of bucketPairs(sorted, comparisonsPerMember)) unique.set(`${pair[0]}\u0000${pair[1]}`, pair);
  }
  return [...unique.values()];
}

/** Exact Jaccard similarity of two sorted, distinct shingle-hash arrays (1 for two empty sets). */
export function jaccardOfSortedSets(a: Uint32Array, b: Uint32Array): number {
  if (a.length === 0 && b.length === 0) return 1;
  let i = 0;
  let j = 0;
  let intersection = 0;
  while (i < a.length && j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x === y) {
      intersection++;
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return intersection / (a.length + b.length - intersection);
}
