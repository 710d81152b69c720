/**
 * Row functions of the MinHash dedup step's candidate verification, module-level so that any
 * executor runs them by reference (`fn(VERIFY_FUNCTIONS, f)`). A candidate pair `{a, b}` (node keys)
 * needs both documents' shingle sets side by side, and the documents live in the source parts,
 * each partitioned by partitionOf(id, M) and sorted by id. So verification is two joins with the
 * parts, per source:
 *   1. the pairs whose `a` is in the source, partitioned like its parts by a's id (sorted by a's id,
 *      then b), are merge-joined with the parts; `attachShingles` drops repeats of a pair (one per
 *      bucket it was found in) and emits `{a, b, s}` with a's shingle set;
 *   2. those rows whose `b` is in the source, partitioned by b's id, are joined with its parts;
 *      `verifyPairs` computes the exact Jaccard similarity of the two shingle sets and emits the
 *      edge `{a, b}` only when it reaches the threshold.
 * Counters: candidatePairs (distinct pairs), verifiedPairs, rejectedPairs.
 *
 * When the candidate pairs and the shingle sets of their documents fit in memory, one scan of every
 * source part replaces both joins: `neededShingles` emits `{n, s}` (node key, shingle set) for each
 * document named by a pair, and the step compares the pairs itself (memory-verification.ts).
 */
import type { UserContext } from "../../dataset/index.ts";
import { readFile } from "node:fs/promises";
import { sourceRecordReader, type CandidatePair } from "./dedup-functions.ts";
import { jaccardOfSortedSets } from "./lsh.ts";
import { Shingler, type ResolvedNormalization } from "./shingles.ts";
import { SourceLayoutError, nodeKey, parseNodeKey } from "./source-parts.ts";

/** This module's URL, for fn(VERIFY_FUNCTIONS, f). */
export const VERIFY_FUNCTIONS = import.meta.url;

/** A candidate pair carrying the shingle set of its `a` document (base64 of little-endian uint32). */
export interface PairWithShingles extends CandidatePair {
  s: string;
}

interface Joined<L> {
  left: L;
  right: { id: string; text: string } | null;
}

export type ShingleArgs = {
  ngram: number;
  normalization: ResolvedNormalization;
};

/** Factory of the filter keeping pairs whose `side` document is in source `source`. */
export function pairInSource(args: { side: "a" | "b"; source: number }): (pair: CandidatePair) => boolean {
  return (pair) => parseNodeKey(pair[args.side]).sourceIndex === args.source;
}

export function idOfA(pair: CandidatePair): string {
  return parseNodeKey(pair.a).id;
}

export function idOfB(pair: CandidatePair): string {
  return parseNodeKey(pair.b).id;
}

export function nodeA(pair: CandidatePair): string {
  return pair.a;
}

export function nodeB(pair: CandidatePair): string {
  return pair.b;
}

function encodeShingles(set: Uint32Array): string {
  return Buffer.from(set.buffer, set.byteOffset, set.byteLength).toString("base64");
}

export function decodeShingles(text: string): Uint32Array {
  const bytes = Buffer.from(text, "base64");
  const out = new Uint32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function missingDocument(node: string, ctx: UserContext): SourceLayoutError {
  return new SourceLayoutError(
    `candidate pair names document ${node}, which is not in part ${ctx.shard} of ${ctx.shardCount} of its source`,
    "each id must be in exactly one part, partitionOf(id, M), sorted; rerun the normalize step",
  );
}

/**
 * The shingle set of the joined document, computed once per run of rows with the same node
 * (rows arrive sorted by it).
 */
function shingleCache(args: ShingleArgs): (node: string, doc: { text: string } | null, ctx: UserContext) => Uint32Array {
  const shingler = new Shingler(args.ngram, args.normalization);
  let lastNode = "";
  let last = new Uint32Array(0);
  return (node, doc, ctx) => {
    if (node !== lastNode) {
      if (doc === null) throw missingDocument(node, ctx);
      last = shingler.shingleHashes(doc.text).slice();
      lastNode = node;
    }
    return last;
  };
}

/** Factory of the flatMap over pairs joined with a's document: each distinct pair once, with a's shingles. */
export function attachShingles(args: ShingleArgs): (row: Joined<CandidatePair>, ctx: UserContext) => PairWithShingles[] {
  const shinglesOf = shingleCache(args);
  let previous: CandidatePair | undefined;
  let encoded = "";
  let encodedFor = "";
  return ({ left, right }, ctx) => {
    if (previous !== undefined && previous.a === left.a && previous.b === left.b) return [];
    previous = left;
    const set = shinglesOf(left.a, right, ctx);
    if (encodedFor !== left.a) {
      encoded = encodeShingles(set);
      encodedFor = left.a;
    }
    ctx.counters.increment("candidatePairs");
    return [{ a: left.a, b: left.b, s: encoded }];
  };
}

/** Factory of the flatMap over pairs joined with b's document: the edge when the exact Jaccard reaches the threshold. */
export function verifyPairs(args: ShingleArgs & { threshold: number }): (row: Joined<PairWithShingles>, ctx: UserContext) => CandidatePair[] {
  const shinglesOf = shingleCache(args);
  return ({ left, right }, ctx) => {
    const similarity = jaccardOfSortedSets(decodeShingles(left.s), shinglesOf(left.b, right, ctx));
    if (similarity < args.threshold) {
      ctx.counters.increment("rejectedPairs");
      return [];
    }
    ctx.counters.increment("verifiedPairs");
    return [{ a: left.a, b: left.b }];
  };
}

/** A document's node key with its shingle set (base64 of little-endian uint32). */
export interface NodeShingles {
  n: string;
  s: string;
}

/**
 * Async factory of the flatMap over source records (part convention checked): the shingle set of
 * each document whose node key is in the JSON array in `nodesFile`, nothing for the others.
 */
export async function neededShingles(args: ShingleArgs & { dirs: string[]; nodesFile: string }): Promise<(row: unknown, ctx: UserContext) => NodeShingles[]> {
  const needed = new Set<string>(JSON.parse(await readFile(args.nodesFile, "utf8")));
  const readSource = sourceRecordReader(args.dirs);
  const shingler = new Shingler(args.ngram, args.normalization);
  return (row, ctx) => {
    const { id, text, source } = readSource(row, ctx);
    const n = nodeKey(source, id);
    if (!needed.has(n)) return [];
    ctx.counters.increment("shingledDocuments");
    return [{ n, s: encodeShingles(shingler.shingleHashes(text)) }];
  };
}
