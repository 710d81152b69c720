/**
 * Near-duplicates by threshold, in memory: the banding rule, the settings, text normalisation
 * before shingling, the exact self-join against brute force, candidate verification on a crafted
 * pair that shares a band while under the threshold, and precision / recall on Brown documents with
 * two copies each with 3 % of their words replaced, where the old unverified Marin banding misses
 * about a third of the copies.
 */
import { describe, expect, it } from "vitest";
import {
  MARIN_PARAMS,
  MinHasher,
  buildCopySet,
  candidateProbability,
  chooseBanding,
  exactComponents,
  exactRemovals,
  exactSimilarPairs,
  findNearDuplicates,
  jaccardOfSortedSets,
  removalsOutsideExactComponents,
  resolveSettings,
  scoreDedup,
  tokenizeWords,
} from "../../../src/steps/minhash/index.ts";
import { brownDocuments } from "./corpora.ts";
import { craftedPair } from "./crafted-pair.ts";

describe("banding chosen from the threshold", () => {
  it("takes the most rows whose S-curve still catches 95 % of pairs at the threshold", () => {
    expect(chooseBanding(0.65)).toEqual({ bands: 47, rows: 6 });
    expect(chooseBanding(0.7)).toEqual({ bands: 40, rows: 7 });
    expect(chooseBanding(0.8)).toEqual({ bands: 28, rows: 10 });
    expect(chooseBanding(0.9)).toEqual({ bands: 17, rows: 16 });
    for (const t of [0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9]) {
      const { bands, rows } = chooseBanding(t);
      expect(bands * rows).toBeLessThanOrEqual(286);
      expect(candidateProbability(t, bands, rows)).toBeGreaterThanOrEqual(0.95);
      expect(candidateProbability(t, Math.floor(286 / (rows + 1)), rows + 1)).toBeLessThan(0.95);
    }
    // Marin's 26 × 11 makes only two thirds of the pairs at 0.75 candidates.
    expect(candidateProbability(0.75, 26, 11)).toBeLessThan(0.7);
  });

  it("uses bands and rows as given, and refuses bad settings naming them", () => {
    expect(resolveSettings({ params: MARIN_PARAMS }, "t").params).toMatchObject({ numPerm: 286, bands: 26, rows: 11 });
    expect(resolveSettings({}, "t")).toMatchObject({ threshold: 0.65, banding: "threshold", verification: "exact", params: { numPerm: 282, bands: 47, rows: 6 } });
    expect(() => resolveSettings({ threshold: 1.2 }, "dedup step 'x'")).toThrow(/dedup step 'x': threshold is 1.2/);
    expect(() => resolveSettings({ verification: "maybe" as "exact" }, "t")).toThrow(/verification/);
    expect(() => resolveSettings({ normalization: { digits: "yes" as unknown as boolean } }, "t")).toThrow(/'digits'/);
  });
});

describe("text normalisation before shingling", () => {
  it("folds case, punctuation, digits and accents as asked", () => {
    expect(tokenizeWords("Café, 12 Rue-Neuve!")).toEqual(["café", "12", "rueneuve"]);
    expect(tokenizeWords("Café, 12 Rue-Neuve!", { accents: true, digits: true })).toEqual(["cafe", "00", "rueneuve"]);
    expect(tokenizeWords("Café, 12 Rue-Neuve!", { lowercase: false, punctuation: false })).toEqual(["Café,", "12", "Rue-Neuve!"]);
    const plain = new MinHasher({ numPerm: 8, bands: 2, rows: 4, ngram: 2 });
    const folded = new MinHasher({ numPerm: 8, bands: 2, rows: 4, ngram: 2 }, { accents: true, digits: true });
    const a = "Invoice 1042 for the café on rue Émile";
    const b = "invoice 2077 for the cafe on rue emile";
    expect(jaccardOfSortedSets(plain.shingleHashes(a), plain.shingleHashes(b))).toBeLessThan(0.5);
    expect(jaccardOfSortedSets(folded.shingleHashes(a), folded.shingleHashes(b))).toBe(1);
  });
});

const originals = brownDocuments({ minWords: 200 }).slice(0, 300);
const copySet = buildCopySet(originals, { copies: 2, percent: 3, seed: 5 });

describe("exact self-join", () => {
  it("finds exactly the pairs brute force finds, at two thresholds", () => {
    const docs = copySet.slice(0, 240);
    const hasher = new MinHasher();
    const sets = docs.map((d) => hasher.shingleHashes(d.text));
    for (const t of [0.5, 0.7]) {
      const brute: string[] = [];
      for (let i = 0; i < sets.length; i++) for (let j = i + 1; j < sets.length; j++) if (jaccardOfSortedSets(sets[i], sets[j]) >= t) brute.push(`${i}-${j}`);
      expect(exactSimilarPairs(sets, t).map((p) => `${p.i}-${p.j}`).sort()).toEqual(brute.sort());
      expect(brute.length).toBeGreaterThan(100);
    }
  });
});

describe("candidate verification", () => {
  it("rejects a crafted pair that shares a band but is under the threshold; unverified, it is joined", () => {
    const settings = resolveSettings({}, "test");
    const pair = craftedPair(settings);
    expect(pair.sharedBands).toBeGreaterThan(0);
    expect(pair.similarity).toBeLessThan(settings.threshold);
    const docs = [{ id: "a", text: pair.a }, { id: "b", text: pair.b }];
    const verified = findNearDuplicates(docs);
    expect(verified.candidatePairs).toBe(1);
    expect(verified.edges).toEqual([]);
    expect(verified.removed.size).toBe(0);
    const unverified = findNearDuplicates(docs, { verification: "none" });
    expect([...unverified.removed]).toEqual(["b"]);
  });

  it("finds copies with 3 % of words replaced at the defaults, every removal inside an exact component", () => {
    const result = findNearDuplicates(copySet);
    const score = scoreDedup(copySet, result.records);
    console.log(`defaults on the p = 3 set: precision ${score.precision.toFixed(4)}, recall ${score.recall.toFixed(4)} (${score.removed} removed of ${score.removable})`);
    expect(score.removable).toBe(600);
    expect(score.precision).toBeGreaterThanOrEqual(0.98);
    expect(score.recall).toBeGreaterThanOrEqual(0.95);
    const hasher = new MinHasher(result.settings.params, result.settings.normalization);
    const exact = exactComponents(copySet.map((d) => d.id), copySet.map((d) => hasher.shingleHashes(d.text)), result.settings.threshold);
    const removed = new Map(result.records.filter((r) => !r.attributes.is_cluster_canonical).map((r) => [r.id, r.attributes.dup_cluster_id]));
    expect(removalsOutsideExactComponents(removed, exact)).toBe(0);
    expect(result.removed.size).toBeGreaterThanOrEqual(0.95 * exactRemovals(exact));
    // The old defaults (26 × 11, star edges, no verification) miss many of these copies.
    const old = scoreDedup(copySet, findNearDuplicates(copySet, { params: MARIN_PARAMS, verification: "none" }).records);
    expect(old.recall).toBeLessThan(0.85);
  });
});
