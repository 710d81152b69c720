/**
 * Candidate verification in the step's own thread, for when the candidate pairs and the shingle
 * sets of their documents fit in the memory budget: given the distinct pairs, the node keys they name go to a scratch file, ONE scan of every source part emits
 * those documents' shingle sets (`neededShingles`, verify-functions.ts), and each distinct pair is
 * compared here on the exact shingle sets. This replaces the two joins per source (a shuffle and a
 * merge-join each) with one map-only plan; the verified edges are the same.
 *
 * The bound: a document's shingle set costs about 12 bytes per shingle here (the base64 row and the
 * decoded array), and a document of c characters has about c / 5 shingles; the path is taken when
 * the documents named by pairs, at the mean document length, fit in half the task budget.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { Dataset, fn, runDataset } from "../../dataset/index.ts";
import type { PlanContext } from "./dedup-plans.ts";
import type { CandidatePair } from "./dedup-functions.ts";
import { jaccardOfSortedSets } from "./lsh.ts";
import { SourceLayoutError } from "./source-parts.ts";
import { VERIFY_FUNCTIONS as V, decodeShingles, neededShingles, type NodeShingles } from "./verify-functions.ts";

const BYTES_PER_SHINGLE = 12;
const CHARACTERS_PER_SHINGLE = 5;

/** Whether `nodes` documents of the input's mean length fit, as shingle sets, in half of `memoryBudgetBytes`. */
export function shingleSetsFit(nodes: number, counters: Record<string, number>, documents: number, memoryBudgetBytes: number): boolean {
  const meanChars = documents > 0 ? (counters.textChars ?? 0) / documents : 0;
  return nodes * (meanChars / CHARACTERS_PER_SHINGLE) * BYTES_PER_SHINGLE <= memoryBudgetBytes / 2;
}

/** Distinct pairs, in order of first appearance (a pair found in several buckets comes once per bucket). */
export function distinctPairs(pairs: readonly CandidatePair[]): CandidatePair[] {
  const seen = new Set<string>();
  return pairs.filter((pair) => {
    const key = `${pair.a}\n${pair.b}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface MemoryVerification {
  edges: CandidatePair[];
  counters: Record<string, number>;
}

/** The pairs whose exact Jaccard reaches `threshold`; every node of a pair must have its shingle set. */
export function verifyWithShingles(pairs: readonly CandidatePair[], shingles: readonly NodeShingles[], threshold: number): MemoryVerification {
  const sets = new Map(shingles.map((row) => [row.n, decodeShingles(row.s)]));
  const setOf = (node: string) => {
    const set = sets.get(node);
    if (set === undefined) {
      throw new SourceLayoutError(`candidate pair names document ${node}, which no source part holds`, "each id must be in exactly one part, partitionOf(id, M), sorted; rerun the normalize step");
    }
    return set;
  };
  const edges = pairs.filter((pair) => jaccardOfSortedSets(setOf(pair.a), setOf(pair.b)) >= threshold);
  return { edges, counters: { candidatePairs: pairs.length, verifiedPairs: edges.length, rejectedPairs: pairs.length - edges.length } };
}

/**
 * The distinct candidate `pairs`, verified in this thread after one scan of the source parts;
 * undefined (nothing done) when their documents' shingle sets would not fit (`counters`: the
 * signatures plan's, for the documents' mean length).
 */
export async function verifyInMemory(p: PlanContext, pairs: CandidatePair[], counters: Record<string, number>): Promise<MemoryVerification | undefined> {
  const nodes = [...new Set(pairs.flatMap((pair) => [pair.a, pair.b]))];
  const documents = p.sources.reduce((s, _, i) => s + (counters[`documents:${i}`] ?? 0), 0);
  if (!shingleSetsFit(nodes.length, counters, documents, p.run.memoryBudgetBytes)) return undefined;
  if (pairs.length === 0) return verifyWithShingles([], [], p.settings.threshold);
  const nodesFile = path.join(p.scratch, "needed-nodes.json");
  await writeFile(nodesFile, JSON.stringify(nodes));
  const args = { ngram: p.settings.params.ngram, normalization: p.settings.normalization, dirs: p.sources.map((s) => s.dir), nodesFile };
  const scan = Dataset.read(p.sources.flatMap((s) => s.parts.map((part) => part.path)))
    .select("id", "text")
    .flatMap(fn(V, neededShingles, args));
  const { rows } = await runDataset(p.ctx, scan, { ...p.run, label: "verify.shingles" });
  return verifyWithShingles(pairs, rows, p.settings.threshold);
}
