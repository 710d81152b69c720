/**
 * A crafted candidate pair for verification tests: two texts that share at least one LSH band
 * bucket under the given settings although the exact Jaccard similarity of their shingle sets is
 * below the threshold. Found deterministically by replacing a few percent of a Brown text's words
 * with seeded choices until both conditions hold; the conditions are checked here with the same
 * public parts (the settings' signature kernel, bandKeys, jaccardOfSortedSets) the step is built from.
 */
import { createSignatureHasher, bandKeys, jaccardOfSortedSets, replaceWords, type ResolvedSettings } from "../../../src/steps/minhash/index.ts";
import { seededUint32 } from "../../../src/steps/minhash/signature.ts";
import { brownParagraphs } from "./corpora.ts";

export interface CraftedPair {
  a: string;
  b: string;
  similarity: number;
  sharedBands: number;
}

export function craftedPair(settings: ResolvedSettings): CraftedPair {
  const words = brownParagraphs(4).join(" ").split(" ");
  const a = words.slice(0, 160).join(" ");
  const vocabulary = words.slice(2000, 6000);
  const hasher = createSignatureHasher(settings.scheme, settings.params, settings.normalization);
  const { bands, rows } = settings.params;
  const shinglesA = hasher.shingleHashes(a);
  const keysA = new Set(bandKeys(hasher.signatureOfShingles(shinglesA), bands, rows));
  for (let seed = 1; seed <= 2000; seed++) {
    const next = seededUint32(seed);
    const random = () => next() / 4294967296;
    const b = replaceWords(a, 6, () => vocabulary[Math.floor(random() * vocabulary.length)], random);
    const shinglesB = hasher.shingleHashes(b);
    const similarity = jaccardOfSortedSets(shinglesA, shinglesB);
    if (similarity >= settings.threshold) continue;
    const sharedBands = bandKeys(hasher.signatureOfShingles(shinglesB), bands, rows).filter((k) => keysA.has(k)).length;
    if (sharedBands > 0) return { a, b, similarity, sharedBands };
  }
  throw new Error("no crafted pair found: no variant shares a band while under the threshold");
}
