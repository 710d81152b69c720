/**
 * MinHash signatures on typed arrays. A signature has `numPerm` entries; entry i is the minimum,
 * over the document's distinct shingle hashes x, of the universal hash h_i(x) = (a_i·x + b_i) mod p
 * with p = 2^31 − 1 (a Mersenne prime) and a_i ∈ [1, p), b_i ∈ [0, p) drawn from a seeded PRNG, so
 * signatures are deterministic by seed. The hot loop uses no BigInt: a_i is split into 15-bit and
 * 16-bit halves so every partial product is an exact double (< 2^49), and each reduction mod p uses
 * the Mersenne identity 2^31 ≡ 1 (mod p). Values are < p, stored in a Uint32Array.
 *
 * Presets: `MARIN` (286 permutations = 26 bands × 11 rows, 5-word shingles) and `DATATROVE`
 * (112 = 14 × 8, 5-word shingles). The LSH similarity threshold of b bands × r rows is about
 * (1/b)^(1/r): 0.74 for Marin's, 0.72 for datatrove's. An empty document gets the all-`EMPTY_SLOT`
 * signature and no band keys (it is never a candidate).
 *
 * This per-permutation kernel is the "universal" scheme: the reference the one-permutation kernel
 * (one-permutation.ts, the default) is measured against. Both implement `SignatureHasher`.
 */
import { MinHashConfigError } from "./errors.ts";
import { Shingler, type ShingleNormalization } from "./shingles.ts";

/** The Mersenne prime the permutations work modulo. */
export const MERSENNE_PRIME = 0x7fffffff;
/** Signature value of a document with no shingles (larger than any real value, which is < p). */
export const EMPTY_SLOT = 0xffffffff;

export type MinHashParams = {
  /** Number of permutations = signature length. Must equal bands × rows. */
  readonly numPerm: number;
  readonly bands: number;
  readonly rows: number;
  /** Words per shingle. */
  readonly ngram: number;
  /** Seed of the permutation coefficients; change it and every signature changes. */
  readonly seed: number;
};

/** Marin's datakit defaults: 286 = 26 × 11, 5-word shingles. */
export const MARIN_PARAMS: MinHashParams = Object.freeze({ numPerm: 286, bands: 26, rows: 11, ngram: 5, seed: 1 });
/** datatrove's defaults: 112 = 14 × 8, 5-word shingles. */
export const DATATROVE_PARAMS: MinHashParams = Object.freeze({ numPerm: 112, bands: 14, rows: 8, ngram: 5, seed: 1 });

function requireInteger(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new MinHashConfigError(
      `MinHash parameter "${field}" is ${JSON.stringify(value)}; it must be an integer in [${min}, ${max}]`,
      `set ${field} to an integer between ${min} and ${max} (defaults: MARIN_PARAMS or DATATROVE_PARAMS)`,
    );
  }
  return value;
}

/** Checks every field and that bands × rows == numPerm; returns a frozen copy. */
export function validateMinHashParams(params: Partial<MinHashParams>): MinHashParams {
  const merged = { ...MARIN_PARAMS, ...params };
  const numPerm = requireInteger("numPerm", merged.numPerm, 1, 65536);
  const bands = requireInteger("bands", merged.bands, 1, numPerm);
  const rows = requireInteger("rows", merged.rows, 1, numPerm);
  const ngram = requireInteger("ngram", merged.ngram, 1, 64);
  const seed = requireInteger("seed", merged.seed, 0, 0xffffffff);
  if (bands * rows !== numPerm) {
    throw new MinHashConfigError(
      `MinHash bands × rows = ${bands} × ${rows} = ${bands * rows}, but numPerm is ${numPerm}`,
      `choose bands and rows whose product is numPerm (e.g. 26 × 11 = 286, 14 × 8 = 112)`,
    );
  }
  return Object.freeze({ numPerm, bands, rows, ngram, seed });
}

/** mulberry32: a small seeded PRNG giving uint32 values. */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

const TWO_POW_15 = 32768;
const TWO_POW_16 = 65536;
const TWO_POW_31 = 2147483648;
const INV_TWO_POW_15 = 1 / TWO_POW_15;
const INV_TWO_POW_31 = 1 / TWO_POW_31;

/**
 * (a·x + b) mod (2^31 − 1) for a, b < 2^31 and any uint32 x, exactly, without BigInt. Exposed for
 * tests; the signature loop inlines the same arithmetic with a pre-split.
 */
export function permuteHash(a: number, b: number, x: number): number {
  const aHigh = Math.floor(a / TWO_POW_16);
  const aLow = a - aHigh * TWO_POW_16;
  const highProduct = aHigh * x;
  const highTop = Math.floor(highProduct * INV_TWO_POW_15);
  let sum = highTop + (highProduct - highTop * TWO_POW_15) * TWO_POW_16 + aLow * x + b;
  const sumTop = Math.floor(sum * INV_TWO_POW_31);
  sum = sumTop + (sum - sumTop * TWO_POW_31);
  return sum >= MERSENNE_PRIME ? sum - MERSENNE_PRIME : sum;
}

/** `out` when it has length numPerm (a fresh array without it); a wrong length is refused. */
export function signatureBuffer(numPerm: number, out?: Uint32Array): Uint32Array {
  const signature = out ?? new Uint32Array(numPerm);
  if (signature.length !== numPerm) {
    throw new MinHashConfigError(`signature buffer has length ${signature.length}, expected numPerm = ${numPerm}`, "pass a Uint32Array of length numPerm or omit the buffer");
  }
  return signature;
}

/** What a signature kernel offers: shingle sets and signatures of `params.numPerm` values. */
export interface SignatureHasher {
  readonly params: MinHashParams;
  /** Sorted distinct shingle hashes of `text` (a fresh copy). */
  shingleHashes(text: string): Uint32Array;
  /** The signature of `text`; written into `out` when given (length numPerm). */
  signature(text: string, out?: Uint32Array): Uint32Array;
  /** The signature of a set of shingle hashes (duplicates allowed, order irrelevant). */
  signatureOfShingles(shingles: Uint32Array, out?: Uint32Array): Uint32Array;
}

/** Computes signatures for documents with one parameter set. Holds scratch buffers: one per worker. */
export class MinHasher implements SignatureHasher {
  readonly params: MinHashParams;
  /** Coefficients a_i (high 15 bits, low 16 bits) and b_i, per permutation. */
  private readonly aHigh: Float64Array;
  private readonly aLow: Float64Array;
  private readonly b: Float64Array;
  private readonly shingler: Shingler;

  constructor(params: Partial<MinHashParams> = {}, normalization?: ShingleNormalization) {
    this.params = validateMinHashParams(params);
    const { numPerm, seed, ngram } = this.params;
    this.aHigh = new Float64Array(numPerm);
    this.aLow = new Float64Array(numPerm);
    this.b = new Float64Array(numPerm);
    const next = seededUint32(seed);
    for (let i = 0; i < numPerm; i++) {
      let a = 0;
      while (a === 0 || a >= MERSENNE_PRIME) a = next() >>> 1;
      let b = MERSENNE_PRIME;
      while (b >= MERSENNE_PRIME) b = next() >>> 1;
      this.aHigh[i] = Math.floor(a / TWO_POW_16);
      this.aLow[i] = a % TWO_POW_16;
      this.b[i] = b;
    }
    this.shingler = new Shingler(ngram, normalization);
  }

  /** Coefficients (a_i, b_i) of permutation i — for cross-checks with other implementations. */
  coefficients(i: number): { a: number; b: number } {
    return { a: this.aHigh[i] * TWO_POW_16 + this.aLow[i], b: this.b[i] };
  }

  /** Sorted distinct shingle hashes of `text` (a fresh copy). */
  shingleHashes(text: string): Uint32Array {
    return this.shingler.shingleHashes(text).slice();
  }

  /** The signature of `text`; written into `out` when given (length numPerm). */
  signature(text: string, out?: Uint32Array): Uint32Array {
    return this.signatureOfShingles(this.shingler.shingleHashes(text), out);
  }

  /** The signature of a set of shingle hashes (duplicates allowed, order irrelevant). */
  signatureOfShingles(shingles: Uint32Array, out?: Uint32Array): Uint32Array {
    const numPerm = this.params.numPerm;
    const signature = signatureBuffer(numPerm, out);
    const count = shingles.length;
    const aHighs = this.aHigh;
    const aLows = this.aLow;
    const bs = this.b;
    for (let perm = 0; perm < numPerm; perm++) {
      const aHigh = aHighs[perm];
      const aLow = aLows[perm];
      const b = bs[perm];
      let min = EMPTY_SLOT;
      for (let i = 0; i < count; i++) {
        const x = shingles[i];
        const highProduct = aHigh * x;
        const highTop = Math.floor(highProduct * INV_TWO_POW_15);
        let sum = highTop + (highProduct - highTop * TWO_POW_15) * TWO_POW_16 + aLow * x + b;
        const sumTop = Math.floor(sum * INV_TWO_POW_31);
        sum = sumTop + (sum - sumTop * TWO_POW_31);
        if (sum >= MERSENNE_PRIME) sum -= MERSENNE_PRIME;
        if (sum < min) min = sum;
      }
      signature[perm] = min;
    }
    return signature;
  }
}

/** Fraction of equal slots: the MinHash estimate of the Jaccard similarity of two documents. */
export function estimateJaccard(a: Uint32Array, b: Uint32Array): number {
  if (a.length !== b.length || a.length === 0) {
    throw new MinHashConfigError(
      `cannot compare signatures of lengths ${a.length} and ${b.length}`,
      "compare signatures made with the same numPerm",
    );
  }
  let equal = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i] && a[i] !== EMPTY_SLOT) equal++;
  return equal / a.length;
}
