/** Tests of word tokenisation, shingle hashing, the exact modular permutation and signatures. */
import { describe, expect, it } from "vitest";
import {
  DATATROVE_PARAMS,
  EMPTY_SLOT,
  MARIN_PARAMS,
  MERSENNE_PRIME,
  MinHashConfigError,
  MinHasher,
  Shingler,
  estimateJaccard,
  hashWord,
  jaccardOfSortedSets,
  tokenizeWords,
  validateMinHashParams,
} from "../../../src/steps/minhash/index.ts";
import { permuteHash, seededUint32 } from "../../../src/steps/minhash/signature.ts";
import { brownDocuments } from "./corpora.ts";

const P = BigInt(MERSENNE_PRIME);

describe("tokenizeWords", () => {
  it("lowercases, splits on Unicode white space and deletes punctuation inside words", () => {
    expect(tokenizeWords("Don't STOP, e-mail me…  now!\u00a0Ünïcode\u3000ok")).toEqual([
      "dont",
      "stop",
      "email",
      "me",
      "now",
      "ünïcode",
      "ok",
    ]);
  });
  it("keeps symbols and digits, drops punctuation-only tokens", () => {
    expect(tokenizeWords("costs $5 + tax -- « » 3.14 😀x")).toEqual(["costs", "$5", "+", "tax", "314", "😀x"]);
  });
});

describe("Shingler", () => {
  it("hashes words exactly as hashWord does on the tokenised words", () => {
    const text = "The Jury, said: Friday — an investigation of Atlanta's recent primary…";
    const expected = tokenizeWords(text).map(hashWord);
    expect([...new Shingler(5).wordHashes(text)]).toEqual(expected);
  });
  it("yields sorted distinct shingles; repeated n-grams collapse", () => {
    const shingler = new Shingler(2);
    // words: a b a b a → bigrams ab, ba, ab, ba → 2 distinct
    const hashes = shingler.shingleHashes("a b a b a").slice();
    expect(hashes.length).toBe(2);
    expect(hashes[0]).toBeLessThan(hashes[1]);
    expect(shingler.shingleHashes("one two three").length).toBe(2);
  });
  it("handles documents longer than its scratch buffers", () => {
    const words = Array.from({ length: 5000 }, (_, i) => `w${i}`);
    const shingler = new Shingler(5);
    const hashes = shingler.wordHashes(words.join(" "));
    expect(hashes.length).toBe(5000);
    expect(hashes[4999]).toBe(hashWord("w4999"));
    expect(shingler.shingleHashes(words.join("\n")).length).toBe(4996);
  });
  it("a short document is one shingle, an empty one none; punctuation does not change shingles", () => {
    const shingler = new Shingler(5);
    expect(shingler.shingleHashes("just three words").length).toBe(1);
    expect(shingler.shingleHashes("  ... !!! ").length).toBe(0);
    const a = shingler.shingleHashes("Hello, world! This is kiln speaking today.").slice();
    const b = shingler.shingleHashes("hello world this is kiln speaking today").slice();
    expect([...a]).toEqual([...b]);
  });
});

describe("permuteHash", () => {
  it("equals (a·x + b) mod (2^31 − 1) computed with BigInt, including extreme values", () => {
    const next = seededUint32(42);
    const cases: [number, number, number][] = [
      [MERSENNE_PRIME - 1, MERSENNE_PRIME - 1, 0xffffffff],
      [1, 0, 0],
      [65535, 65536, 0x80000000],
    ];
    for (let i = 0; i < 5000; i++) cases.push([1 + (next() % (MERSENNE_PRIME - 1)), next() % MERSENNE_PRIME, next()]);
    for (const [a, b, x] of cases) {
      const expected = Number((BigInt(a) * BigInt(x) + BigInt(b)) % P);
      expect(permuteHash(a, b, x)).toBe(expected);
    }
  });
});

describe("MinHasher", () => {
  it("signature = per-permutation minimum computed with BigInt", () => {
    const hasher = new MinHasher({ numPerm: 16, bands: 4, rows: 4, ngram: 3, seed: 9 });
    const text = "the quick brown fox jumps over the lazy dog and runs far away from the quick brown cat";
    const shingles = hasher.shingleHashes(text);
    const signature = hasher.signature(text);
    for (let i = 0; i < 16; i++) {
      const { a, b } = hasher.coefficients(i);
      let min = P;
      for (const x of shingles) {
        const v = (BigInt(a) * BigInt(x) + BigInt(b)) % P;
        if (v < min) min = v;
      }
      expect(signature[i]).toBe(Number(min));
    }
  });
  it("is deterministic by seed and changes with the seed", () => {
    const text = brownDocuments({ maxFiles: 1 })[0];
    const one = new MinHasher({ seed: 3 }).signature(text);
    const again = new MinHasher({ seed: 3 }).signature(text);
    const other = new MinHasher({ seed: 4 }).signature(text);
    expect([...one]).toEqual([...again]);
    expect(estimateJaccard(one, other)).toBeLessThan(0.1);
  });
  it("estimates exact Jaccard on real text within sampling error", () => {
    const hasher = new MinHasher(MARIN_PARAMS);
    const docs = brownDocuments({ maxFiles: 2, minWords: 150 });
    const base = docs[0];
    const words = base.split(" ");
    const variants = [words.slice(0, Math.floor(words.length * 0.8)).join(" "), words.slice(20).join(" "), docs[1]];
    for (const variant of variants) {
      const exact = jaccardOfSortedSets(hasher.shingleHashes(base), hasher.shingleHashes(variant));
      const estimate = estimateJaccard(hasher.signature(base), hasher.signature(variant));
      // standard error of the estimate is sqrt(J(1-J)/286) <= 0.03; allow 4 sigma
      expect(Math.abs(estimate - exact)).toBeLessThan(0.12);
    }
  });
  it("gives an empty document the all-EMPTY_SLOT signature", () => {
    const signature = new MinHasher(DATATROVE_PARAMS).signature(" ,. ");
    expect(signature.length).toBe(112);
    expect(signature.every((v) => v === EMPTY_SLOT)).toBe(true);
  });
  it("validates parameters with typed errors naming the field", () => {
    expect(() => validateMinHashParams({ numPerm: 100, bands: 26, rows: 11 })).toThrow(MinHashConfigError);
    expect(() => validateMinHashParams({ numPerm: 100, bands: 26, rows: 11 })).toThrow(/26 × 11 = 286/);
    expect(() => new MinHasher({ ngram: 0 })).toThrow(/"ngram"/);
    expect(() => new MinHasher({ seed: 1.5 })).toThrow(/"seed"/);
    expect(validateMinHashParams({ numPerm: 112, bands: 14, rows: 8 }).rows).toBe(8);
    const hasher = new MinHasher(DATATROVE_PARAMS);
    expect(() => hasher.signature("text", new Uint32Array(3))).toThrow(/length 3/);
  });
});
