/**
 * Real-looking text of any size from the Brown corpus, for the benchmarks: the corpus's documents,
 * then the corpus again under a seeded word-for-word substitution per round (a permutation of its
 * vocabulary). Word frequencies, lengths and paragraph structure stay those of real text, while
 * rounds share no shingles, so the only near-duplicates are the ones a benchmark adds on purpose.
 */
import { seededUint32 } from "../../src/steps/minhash/signature.ts";
import { brownDocuments } from "../../test/steps/minhash/corpora.ts";

/** `base` text with every word replaced by its image under the seeded permutation of `vocabulary`. */
function permutedRound(base: readonly string[], vocabulary: readonly string[], round: number): string[] {
  const next = seededUint32(round);
  const image = [...vocabulary];
  for (let i = image.length - 1; i > 0; i--) {
    const j = next() % (i + 1);
    [image[i], image[j]] = [image[j], image[i]];
  }
  const map = new Map(vocabulary.map((w, i) => [w, image[i]]));
  return base.map((doc) => doc.split("\n\n").map((p) => p.split(" ").map((w) => map.get(w) ?? w).join(" ")).join("\n\n"));
}

/**
 * Endless rounds of Brown documents (≥ `minWords` words each): round 0 is the corpus itself, round
 * r ≥ 1 the corpus under the permutation seeded by r. Each round is ~6 MB at the default 200 words.
 */
export function* brownVocabularyRounds(minWords = 200): Generator<string[]> {
  const base = brownDocuments({ minWords });
  const vocabulary = [...new Set(base.flatMap((d) => d.split(/\s+/)))].sort();
  yield base;
  for (let round = 1; ; round++) yield permutedRound(base, vocabulary, round);
}

/**
 * Brown documents, then permuted rounds until about `targetBytes` (counted in UTF-16 code units;
 * labelled copies made from them add ~30 %, hence the 1.3): the whole corpus always, then documents
 * of later rounds while the total is below `targetBytes / 1.3`.
 */
export function realSources(targetBytes: number): string[] {
  const limit = targetBytes / 1.3;
  const docs: string[] = [];
  let chars = 0;
  for (const round of brownVocabularyRounds()) {
    for (const doc of round) {
      if (docs.length >= round.length && chars >= limit) return docs;
      docs.push(doc);
      chars += doc.length;
    }
    if (chars >= limit) return docs;
  }
  return docs;
}
