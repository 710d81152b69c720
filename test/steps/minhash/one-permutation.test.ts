/**
 * The one-permutation kernel with optimal densification: its signature against a plain
 * re-implementation of the rule in its file header, invariance to shingle order and repeats,
 * determinism by seed, unbiased and accurate Jaccard estimates on real text (short documents with
 * many densified bins included), and the typed error for an unknown scheme.
 */
import { describe, expect, it } from "vitest";
import {
  DensifiedMinHasher,
  EMPTY_SLOT,
  MinHashConfigError,
  MinHasher,
  createSignatureHasher,
  estimateJaccard,
  jaccardOfSortedSets,
  replaceWords,
  resolveSettings,
  type MinHashParams,
} from "../../../src/steps/minhash/index.ts";
import { foldHash32, mix32 } from "../../../src/steps/minhash/shingles.ts";
import { seededUint32 } from "../../../src/steps/minhash/signature.ts";
import { brownDocuments } from "./corpora.ts";

/** The documented rule, written plainly: one permutation, bins by range, then optimal densification. */
function referenceSignature(shingles: Uint32Array, params: MinHashParams): number[] {
  const next = seededUint32(params.seed ^ 0x5f3759df);
  const [seedIn, seedOut, probeSeed] = [next(), next(), next()];
  const k = params.numPerm;
  const bins: (number | undefined)[] = new Array(k).fill(undefined);
  for (const x of shingles) {
    const v = mix32(mix32((x ^ seedIn) >>> 0) ^ seedOut);
    const bin = Math.floor((v * k) / 2 ** 32);
    const value = v - Math.ceil((bin * 2 ** 32) / k);
    if (bins[bin] === undefined || value < bins[bin]!) bins[bin] = value;
  }
  if (bins.every((b) => b === undefined)) return new Array(k).fill(EMPTY_SLOT);
  return bins.map((value, bin) => {
    if (value !== undefined) return value;
    const start = foldHash32(probeSeed | 0, bin);
    for (let attempt = 1; ; attempt++) {
      const from = bins[Math.floor((mix32(foldHash32(start, attempt)) * k) / 2 ** 32)];
      if (from !== undefined) return from;
    }
  });
}

const docs = brownDocuments({ minWords: 200 });

describe("DensifiedMinHasher", () => {
  it("computes the documented one-permutation signature with optimal densification", () => {
    for (const params of [resolveSettings({}, "test").params, { numPerm: 16, bands: 4, rows: 4, ngram: 3, seed: 9 }]) {
      const hasher = new DensifiedMinHasher(params);
      for (const text of [docs[0], docs[1].split(" ").slice(0, 30).join(" "), "one two three four five six"]) {
        const expected = referenceSignature(hasher.shingleHashes(text), hasher.params);
        expect([...hasher.signature(text)]).toEqual(expected);
      }
    }
  });

  it("depends on the shingle set only: order and repeats change nothing", () => {
    const hasher = new DensifiedMinHasher();
    const set = hasher.shingleHashes(docs[2]);
    const shuffled = Uint32Array.from([...set, ...set.slice(0, 50)].reverse());
    expect([...hasher.signatureOfShingles(shuffled)]).toEqual([...hasher.signatureOfShingles(set)]);
    expect([...hasher.signature(docs[2])]).toEqual([...hasher.signatureOfShingles(set)]);
  });

  it("is deterministic by seed and changes with the seed", () => {
    const one = new DensifiedMinHasher({ seed: 3 }).signature(docs[3]);
    expect([...new DensifiedMinHasher({ seed: 3 }).signature(docs[3])]).toEqual([...one]);
    expect(estimateJaccard(one, new DensifiedMinHasher({ seed: 4 }).signature(docs[3]))).toBeLessThan(0.1);
  });

  it("gives an empty document the all-EMPTY_SLOT signature and a one-shingle document one value everywhere", () => {
    const hasher = new DensifiedMinHasher();
    expect(hasher.signature(" ,. ").every((v) => v === EMPTY_SLOT)).toBe(true);
    const single = hasher.signature("just four words here");
    expect(new Set(single).size).toBe(1);
    expect(single[0]).not.toBe(EMPTY_SLOT);
  });

  for (const [name, words] of [
    ["full Brown documents", Infinity],
    ["40-word documents (most bins densified)", 40],
  ] as const) {
    it(`estimates exact Jaccard without bias and about as well as one hash per permutation: ${name}`, () => {
      const params = resolveSettings({}, "test").params;
      const densified = new DensifiedMinHasher(params);
      const universal = new MinHasher(params);
      let bias = 0;
      let squaredDensified = 0;
      let squaredUniversal = 0;
      let pairs = 0;
      for (let i = 0; i < 200; i++) {
        const a = docs[i].split(" ").slice(0, words).join(" ");
        let seed = i + 1;
        const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
        const b = replaceWords(a, 4 + (i % 20), () => `w${Math.floor(random() * 1e6)}`, random);
        const exact = jaccardOfSortedSets(densified.shingleHashes(a), densified.shingleHashes(b));
        const estimate = estimateJaccard(densified.signature(a), densified.signature(b));
        bias += estimate - exact;
        squaredDensified += (estimate - exact) ** 2;
        squaredUniversal += (estimateJaccard(universal.signature(a), universal.signature(b)) - exact) ** 2;
        pairs++;
      }
      expect(Math.abs(bias / pairs)).toBeLessThan(0.01);
      const rmseDensified = Math.sqrt(squaredDensified / pairs);
      const rmseUniversal = Math.sqrt(squaredUniversal / pairs);
      expect(rmseDensified).toBeLessThan(0.045);
      expect(rmseDensified).toBeLessThan(1.5 * rmseUniversal);
    });
  }

  it("refuses an unknown scheme with a typed error naming it", () => {
    expect(() => createSignatureHasher("bogus" as "densified", {})).toThrow(MinHashConfigError);
    expect(() => resolveSettings({ scheme: "bogus" as "densified" }, "dedup step 'x'")).toThrow(/dedup step 'x': scheme is "bogus"/);
    expect(createSignatureHasher("universal", {})).toBeInstanceOf(MinHasher);
    expect(resolveSettings({}, "x").scheme).toBe("densified");
  });
});
