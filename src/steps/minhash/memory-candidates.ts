/**
 * Candidate pairs in the step's own thread, for when every document's band keys fit in the memory
 * budget: the signed documents (one record each, from the signatures plan) are read back, grouped by
 * band key in a map, and each bucket yields the pairs the shuffle path's `bucketPairs` yields —
 * members sorted by node key, member i with the first min(i, comparisonsPerMember) members — each
 * distinct pair once. This replaces the shuffle of one record per band per document.
 *
 * The bound: a band entry held here (a map slot and a reference in a bucket array) costs about
 * `BYTES_PER_BAND_ENTRY` bytes; the path is taken when documents × bands of them fit in half the
 * task budget. When the source parts are small enough that their signed documents surely fit
 * (`signedDocumentsFit`), the signatures plan returns them to the step directly, without scratch.
 */
import { Dataset, runDataset } from "../../dataset/index.ts";
import type { PlanContext } from "./dedup-plans.ts";
import { signedFromScratch } from "./dedup-plans.ts";
import type { CandidatePair, SignedDocument } from "./dedup-functions.ts";
import { distinctPairs } from "./memory-verification.ts";

export const BYTES_PER_BAND_ENTRY = 100;
/**
 * Memory per byte of part files that signed documents returned to the step's thread may take: a
 * document takes at least about 20 bytes in a part file and about 1 KB signed.
 */
export const SIGNED_BYTES_PER_PART_BYTE = 50;

/** Whether the signed documents of parts of `partBytes` bytes may be returned to the step's thread (half the budget). */
export function signedDocumentsFit(partBytes: number, memoryBudgetBytes: number): boolean {
  return partBytes * SIGNED_BYTES_PER_PART_BYTE <= memoryBudgetBytes / 2;
}

/** Whether `documents` documents of `bands` band keys each may be bucketed in memory under `memoryBudgetBytes`. */
export function bandEntriesFit(documents: number, bands: number, memoryBudgetBytes: number): boolean {
  return documents * bands * BYTES_PER_BAND_ENTRY <= memoryBudgetBytes / 2;
}

/** The distinct candidate pairs of the documents' buckets (see the file header). */
export function bucketCandidatePairs(docs: readonly SignedDocument[], comparisonsPerMember: number): CandidatePair[] {
  const buckets = new Map<number, string[]>();
  for (const doc of docs) {
    for (const key of doc.k) {
      const members = buckets.get(key);
      if (members) members.push(doc.n);
      else buckets.set(key, [doc.n]);
    }
  }
  const pairs: CandidatePair[] = [];
  for (const members of buckets.values()) {
    if (members.length < 2) continue;
    members.sort();
    const first: string[] = [];
    for (const member of members) {
      if (first.includes(member)) continue;
      for (const a of first) pairs.push({ a, b: member });
      if (first.length < comparisonsPerMember) first.push(member);
    }
  }
  return distinctPairs(pairs);
}

/** The signed documents read back into this thread, bucketed: the distinct candidate pairs. */
export async function candidatePairsInMemory(p: PlanContext): Promise<CandidatePair[]> {
  const { rows } = await runDataset(p.ctx, (await signedFromScratch(p)).docs, { ...p.run, label: "candidates" });
  return bucketCandidatePairs(rows, p.settings.comparisonsPerMember);
}

/** The candidate pairs the shuffle path wrote to `pairFiles`, each distinct pair once. */
export async function readCandidatePairs(p: PlanContext, pairFiles: string[]): Promise<CandidatePair[]> {
  if (pairFiles.length === 0) return [];
  return distinctPairs((await runDataset(p.ctx, Dataset.read<CandidatePair>(pairFiles), { ...p.run, label: "verify.pairs" })).rows);
}
